import type { Db } from "./database";

export type JobStatus = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type JobKind = "backup" | "restore" | "verify" | "delete";

/** A row of `jobs`; JSON columns are text here and parsed by the services. */
export interface JobRow {
  id: string;
  tenant_id: string;
  deployment_id: string;
  kind: JobKind;
  status: JobStatus;
  phase: string | null;
  trigger: string;
  attempt: number;
  requeues: number;
  agent_id: string | null;
  backup_id: string | null;
  restore_id: string | null;
  sequence: number | null;
  params: string;
  message: string | null;
  error_message: string | null;
  progress_seq: number | null;
  lease_expires_at: string | null;
  cancel_requested_at: string | null;
  completion: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  execution_time_ms: number | null;
}

export interface JobPhaseRow {
  job_id: string;
  position: number;
  name: string;
  status: string;
  started_at: string;
  ended_at: string | null;
  log: string;
  error_log: string;
  log_truncated: number;
}

export interface JobLogRow {
  id: number;
  job_id: string;
  at: string;
  level: string;
  fields: string;
  message: string;
}

export interface JobPageQuery {
  tenantId: string;
  /** The last id of the previous page (newest first); the first page starts above every id. */
  beforeId: string;
  limit: number;
  status?: JobStatus;
  kind?: JobKind;
  deploymentId?: string;
}

/** Ids are `job_` + base36 time + hex: every id sorts below this, so it bounds the first page. */
export const ABOVE_EVERY_ID = "\uffff";

export class JobsStore {
  private readonly insertStatement;
  private readonly byIdStatement;
  private readonly byIdInAnyTenantStatement;
  private readonly pageByTenant;
  private readonly pageByStatus;
  private readonly pageByDeployment;
  private readonly activeCountStatement;
  private readonly activeOfKindStatement;
  private readonly nextQueuedStatement;
  private readonly nextQueuedOfDriverStatement;
  private readonly claimStatement;
  private readonly progressStatement;
  private readonly finishStatement;
  private readonly requestCancelStatement;
  private readonly requeueStatement;
  private readonly expiredStatement;
  private readonly runningOfAgentStatement;
  private readonly runningCountsStatement;
  private readonly deleteStatement;
  private readonly countByStatusStatement;
  private readonly insertPhaseStatement;
  private readonly updatePhaseStatement;
  private readonly phasesStatement;
  private readonly phasesOfManyStatement;
  private readonly insertLogStatement;
  private readonly logsAfterStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<JobRow>(
      `INSERT INTO jobs (id, tenant_id, deployment_id, kind, status, phase, trigger, attempt,
         requeues, agent_id, backup_id, restore_id, sequence, params, message, error_message,
         progress_seq, lease_expires_at, cancel_requested_at, completion, created_at, started_at,
         ended_at, execution_time_ms)
       VALUES (@id, @tenant_id, @deployment_id, @kind, @status, @phase, @trigger, @attempt,
         @requeues, @agent_id, @backup_id, @restore_id, @sequence, @params, @message,
         @error_message, @progress_seq, @lease_expires_at, @cancel_requested_at, @completion,
         @created_at, @started_at, @ended_at, @execution_time_ms)`,
    );
    this.byIdStatement = db.prepare<[string, string], JobRow>(
      "SELECT * FROM jobs WHERE id = ? AND tenant_id = ?",
    );
    this.byIdInAnyTenantStatement = db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE id = ?");
    // Newest first by id (ids sort by creation time). The kind filter is a residual term: kinds
    // are few, so skipping rows of the other kinds costs a bounded factor on every page alike.
    type PageParams = {
      tenant: string;
      before: string;
      limit: number;
      kind: string | null;
    };
    this.pageByTenant = db.prepare<PageParams, JobRow>(
      `SELECT * FROM jobs WHERE tenant_id = @tenant AND id < @before
         AND (@kind IS NULL OR kind = @kind)
       ORDER BY id DESC LIMIT @limit`,
    );
    this.pageByStatus = db.prepare<PageParams & { status: string }, JobRow>(
      `SELECT * FROM jobs WHERE tenant_id = @tenant AND status = @status AND id < @before
         AND (@kind IS NULL OR kind = @kind)
       ORDER BY id DESC LIMIT @limit`,
    );
    this.pageByDeployment = db.prepare<
      PageParams & { deployment: string; status: string | null },
      JobRow
    >(
      `SELECT * FROM jobs WHERE deployment_id = @deployment AND id < @before
         AND tenant_id = @tenant AND (@kind IS NULL OR kind = @kind)
         AND (@status IS NULL OR status = @status)
       ORDER BY id DESC LIMIT @limit`,
    );
    // Delete jobs stay out: JobsService.enqueueJob says why.
    this.activeCountStatement = db.prepare<[string], { count: number }>(
      `SELECT count(*) AS count FROM jobs
       WHERE deployment_id = ? AND status IN ('QUEUED', 'RUNNING') AND kind <> 'delete'`,
    );
    this.activeOfKindStatement = db.prepare<[string, string], { id: string }>(
      `SELECT id FROM jobs WHERE deployment_id = ? AND kind = ? AND status IN ('QUEUED', 'RUNNING')
       LIMIT 1`,
    );
    // The oldest queued job of a deployment this agent runs, optionally narrowed by kind and
    // deployment name (the agent API's ClaimRequest).
    this.nextQueuedStatement = db.prepare<
      { agent: string; kinds: string | null; deployments: string | null },
      JobRow
    >(
      `SELECT j.* FROM deployments d JOIN jobs j ON j.deployment_id = d.id
       WHERE d.agent_id = @agent AND j.status = 'QUEUED'
         AND (@kinds IS NULL OR j.kind IN (SELECT value FROM json_each(@kinds)))
         AND (@deployments IS NULL OR d.name IN (SELECT value FROM json_each(@deployments)))
       ORDER BY j.id LIMIT 1`,
    );
    // The oldest queued job of a kind on deployments the controller drives itself (the `driver`
    // column's type), for the driver that claims it in place of an agent.
    this.nextQueuedOfDriverStatement = db.prepare<{ driver: string; kind: string }, JobRow>(
      `SELECT j.* FROM deployments d JOIN jobs j ON j.deployment_id = d.id
       WHERE json_extract(d.driver, '$.type') = @driver AND j.status = 'QUEUED' AND j.kind = @kind
       ORDER BY j.id LIMIT 1`,
    );
    this.claimStatement = db.prepare<{ id: string; agent: string; at: string; lease: string }>(
      `UPDATE jobs SET status = 'RUNNING', agent_id = @agent, attempt = attempt + 1,
         started_at = coalesce(started_at, @at), lease_expires_at = @lease, progress_seq = NULL
       WHERE id = @id AND status = 'QUEUED'`,
    );
    this.progressStatement = db.prepare<{
      id: string;
      phase: string | null;
      seq: number;
      lease: string;
    }>(
      `UPDATE jobs SET phase = coalesce(@phase, phase), progress_seq = @seq, lease_expires_at = @lease
       WHERE id = @id AND status = 'RUNNING'`,
    );
    this.finishStatement = db.prepare<{
      id: string;
      status: JobStatus;
      message: string | null;
      error_message: string | null;
      completion: string | null;
      at: string;
      execution_time_ms: number | null;
    }>(
      `UPDATE jobs SET status = @status, phase = 'finished', message = @message,
         error_message = @error_message, completion = @completion, ended_at = @at,
         lease_expires_at = NULL, execution_time_ms = @execution_time_ms
       WHERE id = @id AND status IN ('QUEUED', 'RUNNING')`,
    );
    this.requestCancelStatement = db.prepare<[string, string]>(
      "UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, ?) WHERE id = ?",
    );
    this.requeueStatement = db.prepare<[string]>(
      `UPDATE jobs SET status = 'QUEUED', agent_id = NULL, lease_expires_at = NULL, phase = NULL,
         requeues = requeues + 1, progress_seq = NULL
       WHERE id = ? AND status = 'RUNNING'`,
    );
    this.expiredStatement = db.prepare<[string], JobRow>(
      `SELECT * FROM jobs WHERE status = 'RUNNING' AND lease_expires_at < ?
       ORDER BY lease_expires_at`,
    );
    // Both seek jobs_running_by_agent (migration 7).
    this.runningOfAgentStatement = db.prepare<[string], JobRow>(
      "SELECT * FROM jobs WHERE agent_id = ? AND status = 'RUNNING' ORDER BY id",
    );
    this.runningCountsStatement = db.prepare<[string], { agent_id: string; count: number }>(
      `SELECT agent_id, count(*) AS count FROM jobs
       WHERE status = 'RUNNING' AND agent_id IN (SELECT value FROM json_each(?))
       GROUP BY agent_id`,
    );
    this.deleteStatement = db.prepare<[string, string]>(
      "DELETE FROM jobs WHERE id = ? AND tenant_id = ?",
    );
    this.countByStatusStatement = db.prepare<[], { status: string; count: number }>(
      "SELECT label AS status, count FROM catalog_counts WHERE metric = 'jobs'",
    );
    this.insertPhaseStatement = db.prepare<JobPhaseRow>(
      `INSERT INTO job_phases (job_id, position, name, status, started_at, ended_at, log,
         error_log, log_truncated)
       VALUES (@job_id, @position, @name, @status, @started_at, @ended_at, @log, @error_log,
         @log_truncated)`,
    );
    this.updatePhaseStatement = db.prepare<JobPhaseRow>(
      `UPDATE job_phases SET status = @status, ended_at = @ended_at, log = @log,
         error_log = @error_log, log_truncated = @log_truncated
       WHERE job_id = @job_id AND position = @position`,
    );
    this.phasesStatement = db.prepare<[string], JobPhaseRow>(
      "SELECT * FROM job_phases WHERE job_id = ? ORDER BY position",
    );
    this.phasesOfManyStatement = db.prepare<[string], JobPhaseRow>(
      `SELECT * FROM job_phases WHERE job_id IN (SELECT value FROM json_each(?))
       ORDER BY job_id, position`,
    );
    this.insertLogStatement = db.prepare<Omit<JobLogRow, "id">>(
      `INSERT INTO job_logs (job_id, at, level, fields, message)
       VALUES (@job_id, @at, @level, @fields, @message)`,
    );
    this.logsAfterStatement = db.prepare<[string, number, number], JobLogRow>(
      "SELECT * FROM job_logs WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
    );
  }

  insert(row: JobRow): void {
    this.insertStatement.run(row);
  }

  /** The tenant's job; another tenant's is `undefined` (the API says 404). */
  byId(id: string, tenantId: string): JobRow | undefined {
    return this.byIdStatement.get(id, tenantId);
  }

  /** For the agent API, whose principal is an agent: the caller checks the job is its own. */
  byIdInAnyTenant(id: string): JobRow | undefined {
    return this.byIdInAnyTenantStatement.get(id);
  }

  page(query: JobPageQuery): JobRow[] {
    const params = {
      tenant: query.tenantId,
      before: query.beforeId,
      limit: query.limit,
      kind: query.kind ?? null,
    };
    if (query.deploymentId !== undefined) {
      return this.pageByDeployment.all({
        ...params,
        deployment: query.deploymentId,
        status: query.status ?? null,
      });
    }
    if (query.status !== undefined) {
      return this.pageByStatus.all({ ...params, status: query.status });
    }
    return this.pageByTenant.all(params);
  }

  /** QUEUED plus RUNNING jobs of a deployment, deletes aside: what the job limit counts. */
  activeCount(deploymentId: string): number {
    return this.activeCountStatement.get(deploymentId)?.count ?? 0;
  }

  hasActive(deploymentId: string, kind: JobKind): boolean {
    return this.activeOfKindStatement.get(deploymentId, kind) !== undefined;
  }

  nextQueued(
    agentId: string,
    kinds: readonly string[] | undefined,
    deploymentNames: readonly string[] | undefined,
  ): JobRow | undefined {
    return this.nextQueuedStatement.get({
      agent: agentId,
      kinds: kinds ? JSON.stringify(kinds) : null,
      deployments: deploymentNames ? JSON.stringify(deploymentNames) : null,
    });
  }

  nextQueuedOfDriver(driverType: string, kind: JobKind): JobRow | undefined {
    return this.nextQueuedOfDriverStatement.get({ driver: driverType, kind });
  }

  /** QUEUED -> RUNNING, leased to the agent; false if someone else got there first. */
  claim(id: string, agentId: string, at: string, leaseExpiresAt: string): boolean {
    return this.claimStatement.run({ id, agent: agentId, at, lease: leaseExpiresAt }).changes > 0;
  }

  recordProgress(id: string, phase: string | null, seq: number, leaseExpiresAt: string): void {
    this.progressStatement.run({ id, phase, seq, lease: leaseExpiresAt });
  }

  /** QUEUED or RUNNING -> a final status; false if the job had already finished. */
  finish(
    id: string,
    status: Extract<JobStatus, "SUCCEEDED" | "FAILED" | "CANCELLED">,
    at: string,
    outcome: {
      message?: string | null;
      errorMessage?: string | null;
      completion?: string | null;
      executionTimeMs: number | null;
    },
  ): boolean {
    return (
      this.finishStatement.run({
        id,
        status,
        at,
        execution_time_ms: outcome.executionTimeMs,
        message: outcome.message ?? null,
        error_message: outcome.errorMessage ?? null,
        completion: outcome.completion ?? null,
      }).changes > 0
    );
  }

  requestCancel(id: string, at: string): void {
    this.requestCancelStatement.run(at, id);
  }

  requeue(id: string): boolean {
    return this.requeueStatement.run(id).changes > 0;
  }

  /** RUNNING jobs whose lease ran out before `at`. */
  expired(at: string): JobRow[] {
    return this.expiredStatement.all(at);
  }

  /** The jobs an agent holds: claimed, not yet completed. */
  runningOfAgent(agentId: string): JobRow[] {
    return this.runningOfAgentStatement.all(agentId);
  }

  /** How many jobs each of these agents holds; an agent holding none is absent. */
  runningCounts(agentIds: readonly string[]): Map<string, number> {
    if (agentIds.length === 0) return new Map();
    return new Map(
      this.runningCountsStatement
        .all(JSON.stringify(agentIds))
        .map((row) => [row.agent_id, row.count]),
    );
  }

  delete(id: string, tenantId: string): boolean {
    return this.deleteStatement.run(id, tenantId).changes > 0;
  }

  /** Jobs by status, for the metrics gauge (trigger-kept counts). */
  countByStatus(): { status: string; count: number }[] {
    return this.countByStatusStatement.all();
  }

  insertPhase(row: JobPhaseRow): void {
    this.insertPhaseStatement.run(row);
  }

  updatePhase(row: JobPhaseRow): void {
    this.updatePhaseStatement.run(row);
  }

  phases(jobId: string): JobPhaseRow[] {
    return this.phasesStatement.all(jobId);
  }

  phasesOf(jobIds: readonly string[]): Map<string, JobPhaseRow[]> {
    const grouped = new Map<string, JobPhaseRow[]>();
    if (jobIds.length === 0) return grouped;
    for (const row of this.phasesOfManyStatement.all(JSON.stringify(jobIds))) {
      const list = grouped.get(row.job_id) ?? [];
      list.push(row);
      grouped.set(row.job_id, list);
    }
    return grouped;
  }

  insertLog(row: Omit<JobLogRow, "id">): number {
    return Number(this.insertLogStatement.run(row).lastInsertRowid);
  }

  logsAfter(jobId: string, afterId: number, limit: number): JobLogRow[] {
    return this.logsAfterStatement.all(jobId, afterId, limit);
  }
}
