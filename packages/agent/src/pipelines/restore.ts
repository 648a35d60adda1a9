import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { openStoredBackup, writeFileAtomically } from "../targets/file-target";
import { decodingStages } from "./artifact-format";
import type { ResultManifest } from "./backup";
import { databaseEngines } from "./database-engines";
import { restoreDatabase, type DatabaseDeployment } from "./database-server";
import { createDigestStream } from "./digest-stream";
import { extractTo } from "./files";
import { PhaseClock } from "./phase-clock";
import { checkSqliteIntegrity } from "./sqlite";
import { assertMatches, checkStoredBackup, formatOfRef, type BackupRef } from "./stored-backup";
import { checkAtEnd } from "./tool-process";

interface RestoreCommon {
  backup: BackupRef;
  /**
   * sqlite: the database file to write; files: the directory to extract into; postgres and
   * mysql: a database URL or name (see restoreDatabase).
   */
  destination: string;
  force: boolean;
  signal?: AbortSignal;
  /** Called with each stderr line of a database client, for the job's log. */
  onToolStderr?: (phase: string, line: string) => void;
}

export type RestoreRequest = RestoreCommon &
  (
    | { kind: "sqlite" | "files" }
    // The deployment's connection supplies the credentials (and the server a bare name is on).
    | DatabaseDeployment
  );

/**
 * Restores a backup: first reads the stored artifact whole and checks its sha256 and size
 * against the manifest (nothing is written before that passes), then reads it again through
 * decryption and gunzip into the destination. The second read is hashed too and checked before
 * the result takes its final name, so a file swapped between the two reads is refused as well.
 */
export async function restoreBackup(request: RestoreRequest): Promise<ResultManifest> {
  const { backup, signal } = request;
  const clock = new PhaseClock();
  const format = formatOfRef(backup);
  await clock.time("verify", () => checkStoredBackup(backup, { signal }));
  if (request.kind === "postgres" || request.kind === "mysql") {
    await restoreIntoDatabase(request, clock);
    return manifestOf(backup, clock);
  }
  await assertDestinationUsable(request);

  const digest = createDigestStream();
  const stages = [openStoredBackup(backup.location), digest, ...(await decodingStages(format))];
  const readMatches = () => assertMatches(backup, digest.result());
  await clock.time("restore", async () => {
    if (request.kind === "sqlite") {
      await writeFileAtomically(request.destination, [stages[0], ...stages.slice(1)], {
        signal,
        check: async (tempPath) => {
          readMatches();
          checkSqliteIntegrity(tempPath);
          // A WAL left by the database being replaced would be replayed onto the restored one.
          await rm(`${request.destination}-wal`, { force: true });
          await rm(`${request.destination}-shm`, { force: true });
        },
      });
    } else {
      await extractDirectoryAtomically(request.destination, async (into) => {
        await pipeline([...stages, extractTo(into)], { signal });
        readMatches();
      });
    }
  });
  return manifestOf(backup, clock);
}

/**
 * The second read of a database restore goes into the client's stdin. The client sees the end of
 * its input only after that read matched the manifest too (checkAtEnd); otherwise it is killed
 * first, which rolls PostgreSQL's single transaction back.
 */
async function restoreIntoDatabase(
  request: RestoreCommon & DatabaseDeployment,
  clock: PhaseClock,
): Promise<void> {
  const { backup, signal } = request;
  const engine = databaseEngines[request.kind];
  const address = restoreDatabase(request.destination, request, engine.defaultPort, engine.schemes);
  const hooks = (phase: string) => ({
    signal,
    onStderr: (line: string) => request.onToolStderr?.(phase, line),
  });
  await clock.time("prepare", () => engine.prepareTarget(address, request.force, hooks("prepare")));
  await clock.time("restore", async () => {
    const digest = createDigestStream();
    const decoding = await decodingStages(formatOfRef(backup));
    const load = await engine.load(address, hooks("restore"));
    await pipeline(
      [
        openStoredBackup(backup.location),
        digest,
        ...decoding,
        checkAtEnd(() => assertMatches(backup, digest.result())),
        load.stdin(),
      ],
      { signal },
    );
  });
}

function manifestOf(backup: BackupRef, clock: PhaseClock): ResultManifest {
  const format = formatOfRef(backup);
  return {
    size_bytes: backup.size_bytes,
    sha256: backup.sha256,
    location: backup.location,
    compression: format.compression,
    ...(format.encryption ? { encryption: format.encryption } : {}),
    ...clock.finish(),
  };
}

/** A restore never overwrites data unless asked to: an existing non-empty destination needs `force`. */
async function assertDestinationUsable(request: RestoreRequest): Promise<void> {
  const existing = await stat(request.destination).catch(() => undefined);
  if (!existing) return;
  const empty = existing.isDirectory()
    ? (await readdir(request.destination)).length === 0
    : existing.size === 0;
  if (request.kind === "files" && !existing.isDirectory()) {
    throw new Error(`restore destination ${request.destination} exists and is not a directory`);
  }
  if (!empty && !request.force) {
    throw new Error(
      `restore destination ${request.destination} is not empty; restore with force to overwrite it`,
    );
  }
}

/** Extracts into a sibling temp directory that replaces the destination only once complete. */
async function extractDirectoryAtomically(
  destination: string,
  fill: (directory: string) => Promise<void>,
): Promise<void> {
  const parent = path.dirname(destination);
  await mkdir(parent, { recursive: true });
  const temp = path.join(
    parent,
    `.${path.basename(destination)}.partial-${randomBytes(6).toString("hex")}`,
  );
  await mkdir(temp, { mode: 0o700 });
  try {
    await fill(temp);
    await rm(destination, { recursive: true, force: true });
    await rename(temp, destination);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
