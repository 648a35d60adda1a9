/**
 * Migration 8: what the hottest reads read instead of recomputing it.
 *
 * - `backups.view`: each backup as the control API shows it (the spec's `Backup`, JSON), parts
 *   included, so a listing page is its stored views joined: no row objects of 30 columns, no
 *   parts query, no `JSON.parse` and `JSON.stringify` per item. Measured on a 50-backup page
 *   (scripts/bench/controller-route.ts): about 1 ms of CPU per request less. Triggers rewrite
 *   the view in the statement that changes the backup or its parts, whoever writes them (the jobs
 *   service, holds, tombstones, retention, adoption, agent reports), so it cannot go stale.
 *   Nothing secret is in a backup, so nothing secret is in its view.
 * - `backup_changes`: a counter every change to a backup's view (so to anything a listing shows
 *   or filters on) or to the set of backups increments. The page cache is valid for one value.
 * - `token_changes`: a counter every change to a token that can end or narrow it (revocation,
 *   deletion, its tenant's deletion by cascade, new verbs or expiry) increments. The token
 *   principal cache is valid for one value of it.
 *
 * Triggers fire for every connection, so the counters also see what another process writes.
 */

/**
 * The `Backup` of the row being updated (`backups`), with its parts in position order. JSON
 * columns are embedded with `json()`, and anything built by a subquery or `iif` is wrapped in
 * `json()` again: SQLite drops the JSON subtype there, and would embed the text as a string.
 */
const BACKUP_VIEW = `json_object(
    'id', backups.id,
    'deployment_id', backups.deployment_id,
    'sequence', backups.sequence,
    'level', backups.level,
    'parent_id', backups.parent_id,
    'session_id', backups.session_id,
    'state', backups.state,
    'failure_reason', backups.failure_reason,
    'trigger', backups."trigger",
    'job_id', backups.job_id,
    'metadata', json(backups.metadata),
    'sizes', json_object(
      'uncompressed_bytes', backups.uncompressed_bytes,
      'compressed_bytes', backups.compressed_bytes,
      'stored_bytes', backups.stored_bytes,
      'session_total_bytes', backups.session_total_bytes),
    'sha256', backups.sha256,
    'locations', json(backups.locations),
    'timings', json_object(
      'queued_at', backups.queued_at,
      'started_at', backups.started_at,
      'completed_at', backups.completed_at,
      'duration_ms', backups.duration_ms),
    'parts', json((SELECT json_group_array(json_object(
        'name', part.name,
        'state', part.state,
        'failure_reason', part.failure_reason,
        'size_bytes', part.size_bytes,
        'sha256', part.sha256,
        'created_at', part.created_at,
        'updated_at', part.updated_at,
        'details', json(part.details)) ORDER BY part.position)
      FROM backup_parts AS part WHERE part.backup_id = backups.id)),
    'verification', json(backups.verification),
    'hold', json(iif(backups.held = 1, 'true', 'false')),
    'hold_reason', backups.hold_reason,
    'held_at', backups.held_at,
    'deleted', json(iif(backups.deleted_at IS NULL, NULL, json_object(
      'at', backups.deleted_at,
      'by', coalesce(backups.deleted_by, ''),
      'reason', backups.deleted_reason))),
    'created_at', backups.created_at)`;

/** The columns the view is made of: an update of any other column leaves it as it is. */
const VIEW_COLUMNS = `id, deployment_id, sequence, level, parent_id, session_id, state,
  failure_reason, "trigger", job_id, metadata, uncompressed_bytes, compressed_bytes, stored_bytes,
  session_total_bytes, sha256, locations, queued_at, started_at, completed_at, duration_ms,
  verification, held, hold_reason, held_at, deleted_at, deleted_by, deleted_reason, created_at`;

export const READ_CACHES_SQL = `
  ALTER TABLE backups ADD COLUMN view TEXT;

  -- The trigger's own UPDATE sets only view, which is not in the column list: it cannot fire
  -- itself again, whatever recursive_triggers says.
  CREATE TRIGGER backups_view_insert AFTER INSERT ON backups
  BEGIN
    UPDATE backups SET view = ${BACKUP_VIEW} WHERE id = NEW.id;
  END;
  CREATE TRIGGER backups_view_update AFTER UPDATE OF ${VIEW_COLUMNS} ON backups
  BEGIN
    UPDATE backups SET view = ${BACKUP_VIEW} WHERE id = NEW.id;
  END;
  CREATE TRIGGER backup_parts_view_insert AFTER INSERT ON backup_parts
  BEGIN
    UPDATE backups SET view = ${BACKUP_VIEW} WHERE id = NEW.backup_id;
  END;
  CREATE TRIGGER backup_parts_view_update AFTER UPDATE ON backup_parts
  BEGIN
    UPDATE backups SET view = ${BACKUP_VIEW} WHERE id IN (OLD.backup_id, NEW.backup_id);
  END;
  CREATE TRIGGER backup_parts_view_delete AFTER DELETE ON backup_parts
  BEGIN
    UPDATE backups SET view = ${BACKUP_VIEW} WHERE id = OLD.backup_id;
  END;

  UPDATE backups SET view = ${BACKUP_VIEW};

  CREATE TABLE backup_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
  );
  INSERT INTO backup_changes (id, generation) VALUES (1, 0);
  -- The view changes with every column a listing shows or filters on (state, deleted_at,
  -- deployment_id, sequence), and with the parts.
  CREATE TRIGGER backups_changed_insert AFTER INSERT ON backups
  BEGIN
    UPDATE backup_changes SET generation = generation + 1;
  END;
  CREATE TRIGGER backups_changed_update AFTER UPDATE OF view ON backups
  BEGIN
    UPDATE backup_changes SET generation = generation + 1;
  END;
  CREATE TRIGGER backups_changed_delete AFTER DELETE ON backups
  BEGIN
    UPDATE backup_changes SET generation = generation + 1;
  END;

  CREATE TABLE token_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
  );
  INSERT INTO token_changes (id, generation) VALUES (1, 0);
  -- Not last_used_at (written as tokens are used) and not inserts: neither ends a principal.
  CREATE TRIGGER tokens_changed_update
  AFTER UPDATE OF tenant_id, name, verbs, secret_hash, expires_at, revoked_at ON tokens
  BEGIN
    UPDATE token_changes SET generation = generation + 1;
  END;
  CREATE TRIGGER tokens_changed_delete AFTER DELETE ON tokens
  BEGIN
    UPDATE token_changes SET generation = generation + 1;
  END;
`;
