/**
 * Migration 12: `delete` jobs, which ask a pull agent to remove a tombstoned backup's files.
 *
 * The kind's CHECK is part of the `jobs` table's definition, which SQLite cannot alter in place,
 * so the table is rebuilt by the procedure of https://www.sqlite.org/lang_altertable.html#otheralter:
 * a new table, the rows copied, the old one dropped, the new one renamed, then its indexes and
 * triggers again. Dropping `jobs` with foreign keys on would cascade into `job_phases`,
 * `job_logs` and `events`, so this migration runs with them off (`foreignKeysOff`) and the runner
 * checks them before it commits. Nothing writes to `jobs` in between, so `catalog_counts` stays
 * right: the copy fires no trigger and the drop fires none either.
 */
export const DELETE_JOBS_SQL = `
  CREATE TABLE jobs_next (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    deployment_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('backup', 'restore', 'verify', 'delete')),
    status TEXT NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    phase TEXT,
    trigger TEXT NOT NULL,
    -- 1 on the first claim, 2 after a lease-expiry requeue.
    attempt INTEGER NOT NULL DEFAULT 0,
    -- How often the lease ran out and the job was requeued: once, then it fails.
    requeues INTEGER NOT NULL DEFAULT 0,
    agent_id TEXT,
    backup_id TEXT,
    restore_id TEXT,
    sequence INTEGER,
    -- JSON: what the kind needs (target ids, level, note; a delete's locations...).
    params TEXT NOT NULL,
    message TEXT,
    error_message TEXT,
    -- The highest progress seq stored: a retried report is acknowledged, not appended twice.
    progress_seq INTEGER,
    lease_expires_at TEXT,
    cancel_requested_at TEXT,
    -- JSON: the completion the agent sent, so repeating it answers the same result.
    completion TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    execution_time_ms INTEGER
  );
  INSERT INTO jobs_next (id, tenant_id, deployment_id, kind, status, phase, trigger, attempt,
      requeues, agent_id, backup_id, restore_id, sequence, params, message, error_message,
      progress_seq, lease_expires_at, cancel_requested_at, completion, created_at, started_at,
      ended_at, execution_time_ms)
    SELECT id, tenant_id, deployment_id, kind, status, phase, trigger, attempt, requeues, agent_id,
      backup_id, restore_id, sequence, params, message, error_message, progress_seq,
      lease_expires_at, cancel_requested_at, completion, created_at, started_at, ended_at,
      execution_time_ms
    FROM jobs;
  DROP TABLE jobs;
  ALTER TABLE jobs_next RENAME TO jobs;

  -- As migrations 4 and 7 made them.
  CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);
  CREATE INDEX jobs_by_tenant_status ON jobs (tenant_id, status, id);
  CREATE INDEX jobs_by_deployment ON jobs (deployment_id, id);
  CREATE INDEX jobs_active ON jobs (deployment_id, kind) WHERE status IN ('QUEUED', 'RUNNING');
  CREATE INDEX jobs_queued ON jobs (deployment_id, id) WHERE status = 'QUEUED';
  CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'RUNNING';
  CREATE INDEX jobs_finished_by_end ON jobs (ended_at, id) WHERE ended_at IS NOT NULL;
  CREATE INDEX jobs_running_by_agent ON jobs (agent_id) WHERE status = 'RUNNING';
  CREATE TRIGGER jobs_counted_insert AFTER INSERT ON jobs
  BEGIN
    UPDATE catalog_counts SET count = count + 1 WHERE metric = 'jobs' AND label = NEW.status;
  END;
  CREATE TRIGGER jobs_counted_update AFTER UPDATE OF status ON jobs
  BEGIN
    UPDATE catalog_counts SET count = count - 1 WHERE metric = 'jobs' AND label = OLD.status;
    UPDATE catalog_counts SET count = count + 1 WHERE metric = 'jobs' AND label = NEW.status;
  END;
  CREATE TRIGGER jobs_counted_delete AFTER DELETE ON jobs
  BEGIN
    UPDATE catalog_counts SET count = count - 1 WHERE metric = 'jobs' AND label = OLD.status;
  END;
`;
