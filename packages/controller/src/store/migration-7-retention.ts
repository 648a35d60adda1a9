/**
 * Migration 7: history retention, and the jobs an agent has in flight.
 */
export const RETENTION_AND_AGENT_JOBS_SQL = `
  -- The audit chain's anchor once retention has removed its oldest entries: the sequence and
  -- hash of the last entry removed (the first kept entry's prev_hash must equal it), and the
  -- entry that recorded that prune, whose details repeat both: moving the anchor by hand no
  -- longer agrees with the chain, so verify-chain still reports removed entries. One row.
  CREATE TABLE audit_checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL CHECK (sequence >= 1),
    hash TEXT NOT NULL,
    record_id TEXT NOT NULL,
    record_sequence INTEGER NOT NULL,
    pruned_total INTEGER NOT NULL,
    updated_at TEXT NOT NULL
  );

  -- How far a retention pass has got through an ordered walk (log retention walks finished
  -- jobs by end time), so a pass does not revisit what is already pruned.
  CREATE TABLE retention_cursors (
    name TEXT PRIMARY KEY,
    position TEXT NOT NULL
  ) WITHOUT ROWID;

  -- Finished jobs by end time: what log and job retention walk, oldest first.
  CREATE INDEX jobs_finished_by_end ON jobs (ended_at, id) WHERE ended_at IS NOT NULL;

  -- An agent's claimed jobs: its in_flight_jobs and what revoking it requeues. Partial, because a
  -- finished job keeps its agent_id and would otherwise grow this index forever.
  CREATE INDEX jobs_running_by_agent ON jobs (agent_id) WHERE status = 'RUNNING';
`;
