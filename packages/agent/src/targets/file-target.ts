import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fanOut } from "./fan-out";

export type StreamStage = NodeJS.ReadableStream | NodeJS.ReadWriteStream;

/**
 * Writes the output of `stages` to `finalPath` so that a backup either exists whole or not at
 * all: bytes go to a hidden temp name in the same directory, are fsynced, renamed into place
 * (atomic within a file system), and the directory is fsynced so the rename survives a crash.
 * On any failure the temp file is removed and nothing appears under the final name.
 */
export async function writeFileAtomically(
  finalPath: string,
  stages: [StreamStage, ...StreamStage[]],
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFilesAtomically([finalPath], stages, options);
}

export interface AtomicWriteOptions {
  signal?: AbortSignal;
  /** Checks each complete temp file before it takes its final name (e.g. SQLite's integrity check). */
  check?: (tempPath: string) => Promise<void> | void;
}

/**
 * writeFileAtomically for several copies of one stream: the stages run once and their output is
 * teed into a temp file per path (see fanOut), so every copy holds the same bytes as the one
 * digest the stages computed. Only once every copy is complete, fsynced and checked do they take
 * their final names; a failure at any point removes the temp files and any copy already renamed,
 * so the copies exist all together or not at all.
 */
export async function writeFilesAtomically(
  finalPaths: readonly string[],
  stages: [StreamStage, ...StreamStage[]],
  options: AtomicWriteOptions = {},
): Promise<void> {
  const writes = finalPaths.map((finalPath) => {
    const directory = path.dirname(finalPath);
    const tempName = `.${path.basename(finalPath)}.partial-${randomBytes(6).toString("hex")}`;
    return { finalPath, directory, tempPath: path.join(directory, tempName) };
  });
  const renamed: string[] = [];
  try {
    for (const { directory } of writes) await mkdir(directory, { recursive: true });
    const sinks = writes.map(({ tempPath }) =>
      createWriteStream(tempPath, { flags: "wx", mode: 0o600 }),
    );
    await pipeline([...stages, fanOut(sinks)], { signal: options.signal });
    for (const { tempPath } of writes) {
      // fsync works on the file, not the descriptor: a second one flushes what the stream wrote.
      await syncPath(tempPath, "r+");
      await options.check?.(tempPath);
    }
    for (const { finalPath, tempPath, directory } of writes) {
      await rename(tempPath, finalPath);
      renamed.push(finalPath);
      await syncPath(directory, "r");
    }
  } catch (error) {
    for (const { tempPath } of writes) await rm(tempPath, { force: true });
    for (const finalPath of renamed) await rm(finalPath, { force: true });
    throw error;
  }
}

/**
 * Removes the temp files that writers killed mid-write (SIGKILL, power loss) left in `directory`,
 * answering their paths. Jobs run one at a time, so this process holds no temp file there when a
 * backup starts; another process writing into the same folder keeps its file's mtime fresh while
 * bytes flow. So the rule is: a `.partial-` file untouched for longer than `staleAfterMs` (the job
 * lease: by then the controller has given up on a writer that stopped reporting) is removed.
 * Only temp names are considered: a file under its final name is never touched.
 */
export async function removeStalePartials(
  directory: string,
  staleAfterMs: number,
  now: number = Date.now(),
): Promise<string[]> {
  const names = await readdir(directory).catch(() => []);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(".") || !name.includes(".partial-")) continue;
    const file = path.join(directory, name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile() || now - info.mtimeMs <= staleAfterMs) continue;
    await rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}

async function syncPath(target: string, flags: "r" | "r+"): Promise<void> {
  const handle = await open(target, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Where a backup goes inside a file target: one folder per deployment. */
export function backupPath(targetDir: string, deployment: string, fileName: string): string {
  return path.join(targetDir, deployment, fileName);
}

export function locationOf(filePath: string): string {
  return pathToFileURL(filePath).href;
}

/** Removes a stored backup by its `file://` location (a backup whose job failed after storing it). */
export async function removeStoredBackup(location: string): Promise<void> {
  await rm(fileURLToPath(location), { force: true });
}

/** Opens a stored backup by its `file://` location; other schemes need their target (S3: later). */
export function openStoredBackup(location: string): NodeJS.ReadableStream {
  if (!location.startsWith("file:")) {
    throw new Error(`cannot read ${location}: this agent reads file:// locations only`);
  }
  return createReadStream(fileURLToPath(location));
}
