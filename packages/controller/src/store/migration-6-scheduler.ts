/**
 * Migration 6: the scheduler's state.
 *
 * `schedule_cursors` says, per deployment and schedule index, up to which instant the slots are
 * handled; it goes with its deployment (a recreated deployment gets a new id and starts afresh).
 * `schedule_slots` records every handled slot, queued or skipped, under a unique key: the job a
 * slot queues and its row commit in one transaction, so a restarted or second scheduler cannot
 * queue the same slot again. Like the catalog it has no foreign key to `deployments`: it is
 * history, and tenants cascade.
 */
export const SCHEDULER_SQL = `
  CREATE TABLE schedule_cursors (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    schedule_index INTEGER NOT NULL,
    -- The schedule's cron and time zone (JSON): another cron at this index starts afresh.
    fingerprint TEXT NOT NULL,
    -- Every slot at or before this instant is handled (queued, skipped, coalesced or not due).
    handled_through TEXT NOT NULL,
    -- 1 once the scheduler saw the deployment paused: slots of the pause are not caught up.
    paused_seen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, schedule_index)
  ) WITHOUT ROWID;
  CREATE TABLE schedule_slots (
    deployment_id TEXT NOT NULL,
    schedule_index INTEGER NOT NULL,
    slot_at TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    outcome TEXT NOT NULL CHECK (outcome IN ('queued', 'skipped')),
    -- Why a slot was skipped: job_queued, job_limit or refused; NULL when queued.
    reason TEXT,
    job_id TEXT,
    -- Earlier due slots folded into this one after downtime (a lower bound past the listed ones).
    coalesced_count INTEGER NOT NULL DEFAULT 0,
    first_coalesced_at TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (deployment_id, schedule_index, slot_at)
  ) WITHOUT ROWID;
  CREATE INDEX schedule_slots_by_age ON schedule_slots (recorded_at);
  CREATE INDEX schedule_slots_by_tenant ON schedule_slots (tenant_id);
`;
