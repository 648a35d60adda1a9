import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

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
  options: {
    signal?: AbortSignal;
    /** Checks the complete temp file before it takes the final name (e.g. SQLite's integrity check). */
    check?: (tempPath: string) => Promise<void> | void;
  } = {},
): Promise<void> {
  const directory = path.dirname(finalPath);
  await mkdir(directory, { recursive: true });
  const tempPath = path.join(
    directory,
    `.${path.basename(finalPath)}.partial-${randomBytes(6).toString("hex")}`,
  );
  try {
    await pipeline([...stages, createWriteStream(tempPath, { flags: "wx", mode: 0o600 })], {
      signal: options.signal,
    });
    // fsync works on the file, not the descriptor: a second one flushes what the stream wrote.
    await syncPath(tempPath, "r+");
    await options.check?.(tempPath);
    await rename(tempPath, finalPath);
    await syncPath(directory, "r");
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
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

/** Opens a stored backup by its `file://` location; other schemes need their target (S3: later). */
export function openStoredBackup(location: string): NodeJS.ReadableStream {
  if (!location.startsWith("file:")) {
    throw new Error(`cannot read ${location}: this agent reads file:// locations only`);
  }
  return createReadStream(fileURLToPath(location));
}
