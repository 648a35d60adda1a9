import { mkdtemp, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";

export interface SqliteSnapshot {
  path: string;
  stream(): NodeJS.ReadableStream;
  /** Removes the snapshot; call it whatever happened. */
  dispose(): Promise<void>;
}

/**
 * A consistent copy of a live database through SQLite's online backup API (it copies pages
 * while other connections keep writing, and restarts on changes), into a private temp file that
 * is then streamed: the database is never read whole into memory, and never copied with plain
 * file reads that could catch a half-written page or miss the WAL.
 */
export async function snapshotSqlite(databasePath: string): Promise<SqliteSnapshot> {
  const dir = await mkdtemp(path.join(tmpdir(), "stowage-sqlite-"));
  const snapshotPath = path.join(dir, "snapshot.sqlite");
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const db = new Database(databasePath, { readonly: true, fileMustExist: true });
    try {
      await db.backup(snapshotPath);
    } finally {
      db.close();
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { path: snapshotPath, stream: () => createReadStream(snapshotPath), dispose };
}

/** Refuses a restored file that is not a sound SQLite database, before it takes its final name. */
export function checkSqliteIntegrity(filePath: string): void {
  const db = new Database(filePath, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma("integrity_check", { simple: true });
    if (result !== "ok") throw new Error(`restored database failed integrity_check: ${result}`);
  } finally {
    db.close();
  }
}
