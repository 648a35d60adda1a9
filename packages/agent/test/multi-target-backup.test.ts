import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { takeBackup, type BackupDeployment } from "../src/pipelines/backup";
import { archiveFiles, extractTo } from "../src/pipelines/files";
import { restoreBackup } from "../src/pipelines/restore";
import { copyLocations, firstExistingCopy } from "../src/targets/backup-copies";
import { writeFilesAtomically } from "../src/targets/file-target";
import { treeOf } from "./file-tree";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "stowage-agent-multi-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A tree with files and directories the test excludes, and the tree expected without them. */
async function siteWithNoise(): Promise<{ source: string; expected: string }> {
  const source = path.join(work, "site");
  const expected = path.join(work, "expected");
  const kept: [string, Buffer][] = [
    ["index.html", Buffer.from("<h1>hi</h1>\n")],
    ["assets/logo.bin", randomBytes(200_000)],
    ["assets/deep/notes.txt", Buffer.from("a\nb\n")],
    ["logs/keep.txt", Buffer.from("not a log\n")],
  ];
  const excluded: [string, Buffer][] = [
    ["debug.log", Buffer.from("noise")],
    ["logs/old/2024.log", Buffer.from("noise")],
    ["cache/big.bin", randomBytes(50_000)],
    ["cache/nested/more.bin", randomBytes(10)],
  ];
  for (const [root, files] of [
    [source, [...kept, ...excluded]],
    [expected, kept],
  ] as const) {
    for (const [name, bytes] of files) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), bytes);
    }
  }
  await mkdir(path.join(expected, "logs", "old"), { recursive: true });
  return { source, expected };
}

describe("exclude globs in a files archive", () => {
  it("leaves an excluded file and an excluded directory out, the rest byte-identical", async () => {
    const { source, expected } = await siteWithNoise();
    const destination = path.join(work, "restored");
    await mkdir(destination);
    await pipeline(
      archiveFiles({ paths: [source], exclude: ["*.log", "/cache/"] }),
      extractTo(destination),
    );
    const restored = await treeOf(path.join(destination, source));
    expect(restored.has("cache")).toBe(false);
    expect(restored.has("debug.log")).toBe(false);
    expect(restored.get("logs/keep.txt")).toEqual(Buffer.from("not a log\n"));
    expect(restored).toEqual(await treeOf(expected));
  });
});

describe("a backup to several file targets", () => {
  function deploymentOf(source: string, targetDirs: string[]): BackupDeployment {
    return {
      name: "site",
      kind: "files",
      connection: { paths: [source], exclude: ["*.log", "cache"] },
      schedules: [],
      targets: targetDirs.map((dir, index) => ({
        type: "file" as const,
        name: `disk-${index}`,
        path: dir,
      })),
      retention: {},
      compression: { algorithm: "gzip" as const },
    };
  }

  it("writes the same artifact to each, reports the first, and restores from the second", async () => {
    const { source, expected } = await siteWithNoise();
    const dirs = [path.join(work, "disk-a"), path.join(work, "disk-b")];
    const deployment = deploymentOf(source, dirs);
    const manifest = await takeBackup({ deployment, backup: { id: "bak_1", sequence: 1 } });

    const copies = copyLocations(deployment, manifest.location);
    expect(copies).toHaveLength(2);
    expect(copies[0]).toBe(manifest.location);
    expect(manifest.target).toBe("disk-0");
    for (const [index, copy] of copies.entries()) {
      const file = fileURLToPath(copy);
      expect(path.dirname(file)).toBe(path.join(dirs[index], "site"));
      expect(
        createHash("sha256")
          .update(await readFile(file))
          .digest("hex"),
      ).toBe(manifest.sha256);
      // Nothing but the artifact: no temp file survived the rename.
      expect(await readdir(path.dirname(file))).toEqual([path.basename(file)]);
    }

    await rm(fileURLToPath(copies[0]));
    const location = await firstExistingCopy(deployment, manifest.location);
    expect(location).toBe(copies[1]);
    const destination = path.join(work, "restored");
    const ref = { id: "bak_1", sequence: 1, ...manifest, location };
    await restoreBackup({ kind: "files", backup: ref, destination, force: false });
    expect(await treeOf(path.join(destination, source))).toEqual(await treeOf(expected));
  });

  it("answers the catalog's location when no copy exists", async () => {
    const deployment = deploymentOf("/nowhere", [path.join(work, "a"), path.join(work, "b")]);
    const location = `file://${path.join(work, "a", "site", "site-000001-bak_1.tar.gz")}`;
    expect(await firstExistingCopy(deployment, location)).toBe(location);
  });

  it("refuses a job naming a target the deployment lacks, writing nothing", async () => {
    const { source } = await siteWithNoise();
    const deployment = deploymentOf(source, [path.join(work, "disk-a")]);
    await expect(
      takeBackup({ deployment, backup: { id: "bak_1", sequence: 1 }, targets: ["disk-0", "s3"] }),
    ).rejects.toThrow(/no target named s3/);
    expect(await readdir(work)).not.toContain("disk-a");
  });

  it("leaves no copy and no temp file in either target when the stream fails", async () => {
    const finals = [path.join(work, "a", "x.bin"), path.join(work, "b", "x.bin")];
    let sent = 0;
    const failing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        callback(sent > 100_000 ? new Error("disk on fire") : null, chunk);
      },
    });
    const source = Readable.from(Array.from({ length: 50 }, () => randomBytes(10_000)));
    await expect(writeFilesAtomically(finals, [source, failing])).rejects.toThrow(/disk on fire/);
    for (const final of finals) expect(await readdir(path.dirname(final))).toEqual([]);
  });

  it("removes the copies already renamed when a later copy cannot take its name", async () => {
    const finals = [path.join(work, "a", "x.bin"), path.join(work, "b", "x.bin")];
    // A directory under the second final name makes its rename fail after the first succeeded.
    await mkdir(path.join(finals[1], "occupied"), { recursive: true });
    await expect(
      writeFilesAtomically(finals, [Readable.from([randomBytes(1000)])]),
    ).rejects.toThrow();
    expect(await readdir(path.join(work, "a"))).toEqual([]);
    expect(await readdir(path.join(work, "b"))).toEqual(["x.bin"]);
    expect(await readdir(finals[1])).toEqual(["occupied"]);
  });
});
