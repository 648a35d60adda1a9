import type { Db } from "./database";

/** A row of `deployments`; JSON columns are text here and parsed by the services. */
export interface DeploymentRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  kind: string;
  connection: string;
  secrets: string;
  driver: string;
  agent_id: string | null;
  schedules: string;
  target_ids: string;
  retention: string;
  compression: string;
  encryption: string | null;
  scripts: string;
  paused: number;
  last_sequence: number;
  created_at: string;
  updated_at: string;
}

/** The columns `createDeployment` and `updateDeployment` write: `last_sequence` belongs to the backups. */
export type DeploymentSettingsRow = Omit<DeploymentRow, "last_sequence">;

export class DeploymentsStore {
  private readonly byIdOrNameStatement;
  private readonly advanceSequenceStatement;
  private readonly byNameStatement;
  private readonly insertStatement;
  private readonly updateSettingsStatement;
  private readonly deleteStatement;
  private readonly pageStatement;
  private readonly agentStatement;
  private readonly activeJobStatement;
  private readonly agentOfStatement;

  constructor(db: Db) {
    // The path parameter takes an id or a name; an id match wins over a name match.
    this.byIdOrNameStatement = db.prepare<{ tenant: string; key: string }, DeploymentRow>(
      "SELECT * FROM deployments WHERE tenant_id = @tenant AND (id = @key OR name = @key) ORDER BY id = @key DESC LIMIT 1",
    );
    // max(): a sequence only ever grows, so it is never reused even after a delete (Zeebe's rule).
    this.advanceSequenceStatement = db.prepare<[number, string]>(
      "UPDATE deployments SET last_sequence = max(last_sequence, ?) WHERE id = ?",
    );
    this.agentOfStatement = db.prepare<[string], { agent_id: string | null }>(
      "SELECT agent_id FROM deployments WHERE id = ?",
    );
    this.byNameStatement = db.prepare<[string, string], DeploymentRow>(
      "SELECT * FROM deployments WHERE tenant_id = ? AND name = ?",
    );
    this.insertStatement = db.prepare<DeploymentSettingsRow>(
      `INSERT INTO deployments (id, tenant_id, name, description, kind, connection, secrets, driver,
         agent_id, schedules, target_ids, retention, compression, encryption, scripts, paused,
         created_at, updated_at)
       VALUES (@id, @tenant_id, @name, @description, @kind, @connection, @secrets, @driver,
         @agent_id, @schedules, @target_ids, @retention, @compression, @encryption, @scripts, @paused,
         @created_at, @updated_at)`,
    );
    // Leaves last_sequence alone: a backup may have advanced it since the row was read.
    this.updateSettingsStatement = db.prepare<DeploymentSettingsRow>(
      `UPDATE deployments SET name = @name, description = @description, connection = @connection,
         secrets = @secrets, driver = @driver, agent_id = @agent_id, schedules = @schedules,
         target_ids = @target_ids, retention = @retention, compression = @compression,
         encryption = @encryption, scripts = @scripts, paused = @paused, updated_at = @updated_at
       WHERE id = @id AND tenant_id = @tenant_id`,
    );
    this.deleteStatement = db.prepare<[string, string]>(
      "DELETE FROM deployments WHERE id = ? AND tenant_id = ?",
    );
    // Keyset on the (tenant_id, name) unique index: the spec orders deployments by name.
    this.pageStatement = db.prepare<
      { tenant: string; after: string; kind: string | null; limit: number },
      DeploymentRow
    >(
      `SELECT * FROM deployments
       WHERE tenant_id = @tenant AND name > @after AND (@kind IS NULL OR kind = @kind)
       ORDER BY name LIMIT @limit`,
    );
    // Agents and jobs are other parts' tables, from later migrations: checked once they exist.
    const tables = new Set(
      db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((row) => row.name),
    );
    this.agentStatement = tables.has("agents")
      ? db.prepare<[string, string], { id: string }>(
          "SELECT id FROM agents WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
        )
      : undefined;
    this.activeJobStatement = tables.has("jobs")
      ? db.prepare<[string], { id: string }>(
          "SELECT id FROM jobs WHERE deployment_id = ? AND status IN ('QUEUED', 'RUNNING') LIMIT 1",
        )
      : undefined;
  }

  /** The tenant's deployment by id or name; another tenant's is `undefined` (the API says 404). */
  byIdOrName(tenantId: string, idOrName: string): DeploymentRow | undefined {
    return this.byIdOrNameStatement.get({ tenant: tenantId, key: idOrName });
  }

  /** Records a backup sequence as used (the backups service allocates it). */
  advanceLastSequence(id: string, sequence: number): void {
    this.advanceSequenceStatement.run(sequence, id);
  }

  byName(tenantId: string, name: string): DeploymentRow | undefined {
    return this.byNameStatement.get(tenantId, name);
  }

  insert(row: DeploymentSettingsRow): void {
    this.insertStatement.run(row);
  }

  updateSettings(row: DeploymentSettingsRow): void {
    this.updateSettingsStatement.run(row);
  }

  delete(id: string, tenantId: string): boolean {
    return this.deleteStatement.run(id, tenantId).changes > 0;
  }

  page(tenantId: string, afterName: string, limit: number, kind?: string): DeploymentRow[] {
    return this.pageStatement.all({
      tenant: tenantId,
      after: afterName,
      kind: kind ?? null,
      limit,
    });
  }

  /** Whether the tenant has this agent, not revoked; `undefined` while there is no agents table. */
  agentExists(tenantId: string, agentId: string): boolean | undefined {
    if (!this.agentStatement) return undefined;
    return this.agentStatement.get(agentId, tenantId) !== undefined;
  }

  /** Whether a job of the deployment is queued or running; `undefined` while there is no jobs table. */
  hasActiveJobs(deploymentId: string): boolean | undefined {
    if (!this.activeJobStatement) return undefined;
    return this.activeJobStatement.get(deploymentId) !== undefined;
  }

  /** The pull agent that runs a deployment, if any: whom a queued job wakes. */
  agentOf(deploymentId: string): string | undefined {
    return this.agentOfStatement.get(deploymentId)?.agent_id ?? undefined;
  }
}
