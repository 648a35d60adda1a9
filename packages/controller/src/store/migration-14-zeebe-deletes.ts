/**
 * Migration 14: the deletes of tombstoned backups a Zeebe cluster has not taken yet. They were
 * kept in memory, so a controller restart forgot them and the backups stayed in the brokers'
 * store; kept here, the next start retries them when they are due.
 */
export const ZEEBE_DELETES_SQL = `
  CREATE TABLE zeebe_pending_deletes (
    -- A purged catalog entry takes its pending delete with it: without the entry's location
    -- the driver cannot tell which cluster holds the backup.
    backup_id TEXT PRIMARY KEY REFERENCES backups(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    deployment_id TEXT NOT NULL,
    -- The tombstone event (backup_deleted or backup_pruned) that asked for the delete.
    event_id TEXT NOT NULL,
    -- Failed attempts so far: the index into the driver's retry delays.
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL
  );
`;
