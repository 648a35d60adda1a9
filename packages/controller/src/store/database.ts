import Database from "better-sqlite3";
import { chmodSync, mkdirSync } from "node:fs";
import path from "node:path";
import { MIGRATIONS, type Migration } from "./migrations";

export type Db = Database.Database;

/**
 * Opens the store: WAL (readers never block the writer), foreign keys on, a busy timeout so a
 * checkpoint does not fail a write, then every migration not yet applied, each in a transaction.
 */
export function openDatabase(file: string): Db {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  // The file holds write-only secrets of targets and deployments: its owner's alone. SQLite
  // gives the -wal and -shm files the database file's mode.
  if (file !== ":memory:") chmodSync(file, 0o600);
  db.pragma("journal_mode = WAL");
  // NORMAL in WAL mode: a commit survives a process crash (SIGKILL); only an OS crash may lose the last ones.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

export function migrate(db: Db): number {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  const applied = new Set(
    db
      .prepare<[], { version: number }>("SELECT version FROM schema_migrations")
      .all()
      .map((row) => row.version),
  );
  const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
  let count = 0;
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    withForeignKeys(db, migration, () =>
      db.transaction(() => {
        db.exec(migration.sql);
        if (migration.foreignKeysOff) assertForeignKeysHold(db, migration.version);
        record.run(migration.version, new Date().toISOString());
      })(),
    );
    count++;
  }
  return count;
}

/** The pragma is a no-op inside a transaction, so it is set around the migration's. */
function withForeignKeys(db: Db, migration: Migration, apply: () => void): void {
  if (!migration.foreignKeysOff) return apply();
  const enforced = db.pragma("foreign_keys", { simple: true }) === 1;
  db.pragma("foreign_keys = OFF");
  try {
    apply();
  } finally {
    if (enforced) db.pragma("foreign_keys = ON");
  }
}

function assertForeignKeysHold(db: Db, version: number): void {
  const violations = db.pragma("foreign_key_check") as unknown[];
  if (violations.length > 0) {
    throw new Error(
      `migration ${version} would leave ${violations.length} rows with a broken foreign key`,
    );
  }
}

/** Folds the WAL back into the main file, so a stopped controller leaves one self-contained file. */
export function checkpoint(db: Db): void {
  db.pragma("wal_checkpoint(TRUNCATE)");
}
