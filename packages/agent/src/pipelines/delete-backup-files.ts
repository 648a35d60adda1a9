import { lstat, realpath } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { components } from "@stowage/agent-client";
import { removeStoredBackup } from "../targets/file-target";
import type { BackupDeployment, ResultManifest } from "./backup";
import { PhaseClock } from "./phase-clock";

export type StoredBackupFiles = components["schemas"]["StoredBackupFiles"];

/** A listed location this agent will not remove; the job fails and nothing is removed. */
export class RefusedDeleteError extends Error {
  constructor(location: string, why: string) {
    super(`refused to delete ${location}: ${why}`);
    this.name = "RefusedDeleteError";
  }
}

/** A stored file that checked out as the backup's, with its size; `undefined` when already gone. */
type CheckedFile = { location: string; sizeBytes: number } | undefined;

/**
 * Removes the stored files of a tombstoned backup (a `delete` job): exactly the listed locations.
 * Every location is checked before anything is removed, so a refusal removes nothing: it must be
 * a `file://` location inside one of the deployment's file target folders (`<target>/<deployment>`,
 * where backups are written), with symlinks resolved so a link cannot lead the removal elsewhere,
 * and a regular file of the backup's size. A file already gone counts as removed. The manifest's
 * `size_bytes` is the bytes removed.
 */
export async function deleteBackupFiles(
  backup: StoredBackupFiles,
  deployment: BackupDeployment,
  options: { onRemoved?: (location: string, outcome: "removed" | "already gone") => void } = {},
): Promise<ResultManifest> {
  const clock = new PhaseClock();
  const folders = deployment.targets
    .filter((target) => target.type === "file")
    .map((target) => path.resolve(target.path, deployment.name));
  const removedBytes = await clock.time("delete", async () => {
    const files: CheckedFile[] = [];
    for (const location of backup.locations) {
      files.push(await checkedFile(location, backup.size_bytes, folders));
    }
    let removed = 0;
    for (const [index, file] of files.entries()) {
      if (file) {
        await removeStoredBackup(file.location);
        removed += file.sizeBytes;
      }
      options.onRemoved?.(backup.locations[index], file ? "removed" : "already gone");
    }
    return removed;
  });
  return {
    size_bytes: removedBytes,
    sha256: backup.sha256,
    location: backup.locations[0],
    ...clock.finish(),
  };
}

async function checkedFile(
  location: string,
  sizeBytes: number,
  folders: readonly string[],
): Promise<CheckedFile> {
  if (!location.startsWith("file:")) {
    throw new RefusedDeleteError(location, "this agent removes file:// locations only");
  }
  const file = fileURLToPath(location);
  const folder = folders.find((candidate) => isInside(candidate, file));
  if (!folder) {
    throw new RefusedDeleteError(location, "it is outside the deployment's target folders");
  }
  // Below an existing folder only: a folder already gone holds no file to remove.
  const realFolder = await existing(realpath(folder));
  const realParent = realFolder && (await existing(realpath(path.dirname(file))));
  if (realFolder === undefined || realParent === undefined) return undefined;
  if (!isInside(realFolder, path.join(realParent, path.basename(file)))) {
    throw new RefusedDeleteError(location, "a symbolic link leads it out of the target folder");
  }
  const info = await existing(lstat(file));
  if (info === undefined) return undefined;
  if (!info.isFile()) throw new RefusedDeleteError(location, "it is not a regular file");
  if (info.size !== sizeBytes) {
    throw new RefusedDeleteError(
      location,
      `it holds ${info.size} bytes, the backup ${sizeBytes}: it is not this backup's file`,
    );
  }
  return { location, sizeBytes: info.size };
}

/** Whether `file` lies below `folder` (both absolute and normalized). */
function isInside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== "" && !path.isAbsolute(relative) && relative.split(path.sep)[0] !== "..";
}

/** The value, or `undefined` when the path does not exist. */
async function existing<T>(pending: Promise<T>): Promise<T | undefined> {
  try {
    return await pending;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
