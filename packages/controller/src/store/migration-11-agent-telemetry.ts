/**
 * Migration 11: what agents report on the telemetry routes, log chunks and run events.
 *
 * Like the catalog (migration 4), nothing here has a foreign key to `agents` or `deployments`:
 * history outlives a revoked agent or a deleted deployment, and retention removes it. Tenants
 * cascade.
 */
export const AGENT_TELEMETRY_SQL = `
  -- One log submission (one postLog request). Its chunks are written while the body streams in,
  -- each in a short transaction of its own (a 100 MB body never sits in memory, nor in one
  -- transaction that would hold every other writer back); the submission turns 'committed' in
  -- one final transaction, with its Idempotency-Key record. Only committed submissions count:
  -- a refused, abandoned or crashed request leaves 'staged' rows that are deleted, never read.
  CREATE TABLE agent_log_submissions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('staged', 'committed')),
    lines INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    committed_at TEXT
  );
  CREATE INDEX agent_log_submissions_committed ON agent_log_submissions (committed_at)
    WHERE state = 'committed';
  CREATE INDEX agent_log_submissions_staged ON agent_log_submissions (received_at)
    WHERE state = 'staged';

  -- Validated lines as NDJSON text, at most about 1 MiB a chunk, one run per chunk. first_line
  -- is the chunk's offset in its run's log (line numbers per agent and run, from 0), so reading
  -- a run from line N is one index seek. run is '' for lines outside a run.
  CREATE TABLE agent_log_chunks (
    id INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL REFERENCES agent_log_submissions(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL,
    run TEXT NOT NULL,
    first_line INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX agent_log_chunks_by_run ON agent_log_chunks (agent_id, run, first_line);
  CREATE INDEX agent_log_chunks_by_submission ON agent_log_chunks (submission_id);

  -- The next line offset of each run's log. Offsets are reserved when a chunk is staged, so
  -- concurrent submissions of one run never share an offset (a refused one leaves a gap).
  CREATE TABLE agent_log_runs (
    agent_id TEXT NOT NULL,
    run TEXT NOT NULL,
    next_line INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (agent_id, run)
  ) WITHOUT ROWID;
  CREATE INDEX agent_log_runs_by_age ON agent_log_runs (updated_at);

  -- Run events as the agent sent them (JSON), stored once per (agent, id): the idempotency key
  -- of postEvents and of spans mapped to events. A rowid table with a unique index rather than
  -- WITHOUT ROWID: rows of a few hundred bytes would make the primary-key b-tree deep and each
  -- insert dearer (SQLite's guidance: WITHOUT ROWID suits rows under 1/20 of a page).
  CREATE TABLE agent_events (
    seq INTEGER PRIMARY KEY,
    agent_id TEXT NOT NULL,
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    run TEXT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (agent_id, id)
  );
  -- No index on received_at: retention walks seq, which grows with it.
  -- A run as its events placed it: the claimed job it carries out, or the deployment and the
  -- backup it reported on its own; the phase timings gathered for its manifest.
  CREATE TABLE agent_runs (
    agent_id TEXT NOT NULL,
    run TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    deployment_id TEXT,
    job_id TEXT,
    backup_id TEXT,
    operation TEXT NOT NULL CHECK (operation IN ('backup', 'restore', 'verify')),
    state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    -- From phase.finished: JSON [{ phase, duration_ms }], the last target named, the largest
    -- bytes (the size of a run whose end reports none, as spans do).
    timings TEXT NOT NULL,
    target TEXT,
    bytes INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (agent_id, run)
  ) WITHOUT ROWID;
  CREATE INDEX agent_runs_by_age ON agent_runs (updated_at);
`;
