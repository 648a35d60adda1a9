import type { Db } from "./database";
import type { DeploymentRow } from "./deployments-store";

export interface AgentEventRow {
  agent_id: string;
  id: string;
  tenant_id: string;
  run: string;
  type: string;
  at: string;
  /** The event as sent, JSON. */
  body: string;
  received_at: string;
}

export interface AgentRunRow {
  agent_id: string;
  run: string;
  tenant_id: string;
  deployment_id: string | null;
  job_id: string | null;
  backup_id: string | null;
  operation: "backup" | "restore" | "verify";
  state: "running" | "succeeded" | "failed";
  started_at: string;
  ended_at: string | null;
  /** JSON: [{ phase, duration_ms }]. */
  timings: string;
  target: string | null;
  /** The largest `bytes` a phase reported: the size when the end reports none. */
  bytes: number | null;
  updated_at: string;
}

/** Agent run events and the runs they describe (migration 11). */
export class AgentEventsStore {
  private readonly insertEventStatement;
  private readonly runStatement;
  private readonly saveRunStatement;
  private readonly deploymentsOfAgentStatement;
  private readonly deleteEventsStatement;
  private readonly deleteRunsStatement;

  constructor(db: Db) {
    // Positional parameters: better-sqlite3 binds named ones by looking each up on the object,
    // 0.35 ms of a batch of 500 in scripts/bench/agent-events.ts (a sixth of the inserts' cost).
    this.insertEventStatement = db.prepare<
      [string, string, string, string, string, string, string, string]
    >(
      `INSERT INTO agent_events (agent_id, id, tenant_id, run, type, at, body, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent_id, id) DO NOTHING`,
    );
    this.runStatement = db.prepare<[string, string], AgentRunRow>(
      "SELECT * FROM agent_runs WHERE agent_id = ? AND run = ?",
    );
    this.saveRunStatement = db.prepare<AgentRunRow>(
      `INSERT INTO agent_runs (agent_id, run, tenant_id, deployment_id, job_id, backup_id,
         operation, state, started_at, ended_at, timings, target, bytes, updated_at)
       VALUES (@agent_id, @run, @tenant_id, @deployment_id, @job_id, @backup_id,
         @operation, @state, @started_at, @ended_at, @timings, @target, @bytes, @updated_at)
       ON CONFLICT (agent_id, run) DO UPDATE SET
         deployment_id = excluded.deployment_id, job_id = excluded.job_id,
         backup_id = excluded.backup_id, state = excluded.state, ended_at = excluded.ended_at,
         timings = excluded.timings, target = excluded.target, bytes = excluded.bytes,
         updated_at = excluded.updated_at`,
    );
    // Two rows are enough to tell "exactly one" from "several".
    this.deploymentsOfAgentStatement = db.prepare<[string, string], DeploymentRow>(
      "SELECT * FROM deployments WHERE agent_id = ? AND tenant_id = ? ORDER BY name LIMIT 2",
    );
    this.deleteEventsStatement = db.prepare<{ before: string; limit: number }>(
      // seq grows with received_at: the oldest are the lowest seqs, so looking at the first
      // `limit` rows of the rowid is a bounded read, where an unindexed filter would scan.
      `DELETE FROM agent_events WHERE received_at < @before AND seq IN (
         SELECT seq FROM agent_events ORDER BY seq LIMIT @limit)`,
    );
    this.deleteRunsStatement = db.prepare<[string, number]>(
      `DELETE FROM agent_runs WHERE (agent_id, run) IN (
         SELECT agent_id, run FROM agent_runs WHERE updated_at < ? ORDER BY updated_at LIMIT ?)`,
    );
  }

  /** Stores an event unless its id is stored for this agent; answers whether it was new. */
  insertEvent(row: AgentEventRow): boolean {
    return (
      this.insertEventStatement.run(
        row.agent_id,
        row.id,
        row.tenant_id,
        row.run,
        row.type,
        row.at,
        row.body,
        row.received_at,
      ).changes > 0
    );
  }

  run(agentId: string, run: string): AgentRunRow | undefined {
    return this.runStatement.get(agentId, run);
  }

  saveRun(row: AgentRunRow): void {
    this.saveRunStatement.run(row);
  }

  /** The deployments the agent runs (at most two: enough to know whether it runs only one). */
  deploymentsOfAgent(agentId: string, tenantId: string): DeploymentRow[] {
    return this.deploymentsOfAgentStatement.all(agentId, tenantId);
  }

  deleteEventsBefore(before: string, limit: number): number {
    return this.deleteEventsStatement.run({ before, limit }).changes;
  }

  /** Runs last touched before `before`; a run still reporting keeps a recent `updated_at`. */
  deleteRunsBefore(before: string, limit: number): number {
    return this.deleteRunsStatement.run(before, limit).changes;
  }
}
