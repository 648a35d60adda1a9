import { Readable, Writable } from "node:stream";
import { create, extract } from "tar";
import { compileExcludes, relativeToRoot } from "./exclude-patterns";

export interface FilesSelection {
  paths: string[];
  exclude?: string[];
  follow_symlinks?: boolean;
}

/**
 * A tar stream of the selected absolute paths, stored relative to `/` (as GNU tar strips the
 * leading slash), so a restore re-creates the full layout under its destination directory.
 * `portable` leaves out uid/gid names and ctimes, which would make identical trees differ.
 * Entries matching an `exclude` glob (see compileExcludes) are left out, and an excluded
 * directory is not read at all: tar does not descend into what its filter refuses.
 */
export function archiveFiles(selection: FilesSelection): Readable {
  const roots = selection.paths.map((entry) => entry.replace(/^\/+/, ""));
  const excluded = compileExcludes(selection.exclude ?? []);
  const pack = create(
    {
      cwd: "/",
      portable: true,
      follow: selection.follow_symlinks ?? false,
      filter: (entry, stat) => {
        const relative = relativeToRoot(entry, roots);
        // tar types its filter for extraction too (a ReadEntry); packing hands it fs.Stats.
        const directory = "isDirectory" in stat ? stat.isDirectory() : stat.type === "Directory";
        return relative === undefined || !excluded(relative, directory);
      },
    },
    roots,
  );
  return Readable.from(pack, { objectMode: false });
}

/**
 * A writable end that unpacks a tar stream into `directory`; it finishes only once every entry is
 * on disk, and fails on a damaged archive (strict mode turns tar's warnings into errors).
 */
export function extractTo(directory: string): Writable {
  const unpack = extract({ cwd: directory, strict: true });
  let failure: Error | undefined;
  const closed = new Promise<void>((resolve, reject) => {
    unpack.on("close", () => (failure ? reject(failure) : resolve()));
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (unpack.write(chunk)) callback();
      else unpack.once("drain", () => callback());
    },
    final(callback) {
      unpack.end();
      closed.then(() => callback(), callback);
    },
  });
  unpack.on("error", (error: Error) => {
    failure ??= error;
    // A write may be waiting for a drain that will never come: fail the pipeline now.
    sink.destroy(error);
  });
  return sink;
}
