import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { components as AgentComponents } from "@stowage/agent-server";
import type { DeploymentRow } from "../store/deployments-store";
import {
  ABOVE_EVERY_ID,
  type JobKind,
  type JobPhaseRow,
  type JobRow,
  type JobStatus,
} from "../store/jobs-store";
import { BackupCatalog, type ResultManifest } from "./backup-catalog";
import { queueBackupFileDeletes, storedFilesOf } from "./backup-file-deletes";
import { canonicalJson } from "./canonical-json";
import type { CallContext, Stores } from "./control-context";
import { settingsFromRow, type StoredConnection, type StoredDriver } from "./deployment-settings";
import type { EventHub } from "./event-hub";
import type { Severity } from "./event-log";
import { newId, nowIso } from "./identifiers";
import { pageRequest, toPage } from "./pagination";
import { actorOf, type OperatorPrincipal } from "./principal";

type Call = CallContext<OperatorPrincipal>;
export type JobView = components["schemas"]["Job"];
type PhaseView = components["schemas"]["JobPhase"];
type FinalStatus = Extract<JobStatus, "SUCCEEDED" | "FAILED" | "CANCELLED">;

export interface JobSettings {
  /** How long a claim (or a progress report) keeps a job the agent's. */
  leaseMs: number;
  /** QUEUED plus RUNNING jobs a deployment may have (DESIGN 4: default 10). */
  maxActivePerDeployment: number;
  /** An agent not seen for this long is offline: a restore it would run is refused (412). */
  agentOfflineAfterMs: number;
}

export const DEFAULT_JOB_SETTINGS: JobSettings = {
  leaseMs: 90_000,
  maxActivePerDeployment: 10,
  agentOfflineAfterMs: 5 * 60_000,
};

/**
 * The `Retry-After` of a 429 at the job limit. A slot frees when one of the deployment's jobs
 * ends, which the controller cannot predict; a retry is cheap, so ask for one soon.
 */
const RETRY_AFTER_SECONDS = 10;

/** The phase logs a job view carries are cut here; the full lines are at `/v1/jobs/{id}/logs`. */
const PHASE_LOG_LIMIT = 16 * 1024;

export interface EnqueueJobInput {
  deployment: DeploymentRow;
  kind: JobKind;
  trigger: "schedule" | "manual" | "retention";
  /** Chosen by the caller when another row (the backup) has to name the job first. */
  id?: string;
  backupId?: string | null;
  restoreId?: string | null;
  sequence?: number | null;
  /** What the kind needs beyond the ids (target ids, level...). */
  params?: Record<string, unknown>;
  /** Extra facts for the `job_queued` event. */
  eventBody?: Record<string, unknown>;
}

/** A leased job: the agent API's `Job` (BackupJob, RestoreJob, VerifyJob, DeleteJob). */
export type ClaimedJob = AgentComponents["schemas"]["Job"];
type StoredBackupRef = AgentComponents["schemas"]["BackupRef"];

/** The agent API's `JobProgress`. */
export interface ProgressReport {
  seq: number;
  at?: string;
  phase: string;
  percent?: number;
  bytes_done?: number;
  bytes_total?: number;
  message?: string;
}

/** The agent API's `JobLease`. */
export interface JobLease {
  job: string;
  state: "running";
  lease_expires_at: string;
}

/** The agent API's `JobCompletion`. */
export type JobCompletion =
  | { outcome: "succeeded"; manifest: ResultManifest }
  | {
      outcome: "failed";
      finished_at: string;
      phase?: string;
      message: string;
      exit_code?: number;
      retryable?: boolean;
    };

/** The agent API's `JobResult`. */
export interface JobResult {
  job: string;
  kind: JobKind;
  state: "succeeded" | "failed";
  finished_at: string;
  backup?: { id: string; sequence: number };
}

/** A log line of a run, as databacker sends it (`run` is the job id). */
export interface JobLogInput {
  timestamp: string;
  level: "trace" | "debug" | "info" | "warn" | "warning" | "error" | "fatal" | "panic";
  fields?: Record<string, unknown>;
  message: string;
}

export interface LeaseSweep {
  requeued: string[];
  failed: string[];
  cancelled: string[];
}

export interface JobListQuery {
  limit?: number;
  marker?: string;
  state?: JobStatus;
  kind?: JobKind;
  deployment?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What a claim that names no kinds is handed. A delete job removes stored files, so it goes only
 * to an agent that asks for it: one written before the kind existed never receives one.
 */
const KINDS_UNLESS_NAMED: readonly JobKind[] = ["backup", "restore", "verify"];

/** The drivers through which the controller runs jobs itself, against a remote backup API. */
export type DriverType = Exclude<StoredDriver["type"], "pull">;

const DRIVER_AGENT_PREFIX = "driver:";

/**
 * Who holds a job a driver runs: `jobs.agent_id` names no agent row (it has no foreign key), and
 * agent ids are `agt_...`, so these never collide with one.
 */
export function driverAgentId(type: DriverType): string {
  return `${DRIVER_AGENT_PREFIX}${type}`;
}

function isDriverAgentId(agentId: string): boolean {
  return agentId.startsWith(DRIVER_AGENT_PREFIX);
}

/**
 * The job state machine: QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED, with a lease
 * that a RUNNING job loses when its agent stops reporting (requeued once, then FAILED). Every
 * transition writes its event in the same transaction; the agent API's handlers call
 * `claimNextJob`, `reportProgress`, `completeJob` and `appendJobLogs`; the control API's call
 * the rest.
 */
export class JobsService {
  private readonly catalog: BackupCatalog;

  constructor(
    private readonly stores: Stores,
    readonly settings: JobSettings = DEFAULT_JOB_SETTINGS,
  ) {
    this.catalog = new BackupCatalog(stores);
  }

  /**
   * Where committed events are announced: the agent API's long-poll claim waits on it for a
   * `job_queued`, and tests count its subscribers.
   */
  get eventHub(): EventHub {
    return this.stores.eventHub;
  }

  // --- the state machine -----------------------------------------------------------------------

  /**
   * Queues a job for a deployment, in the caller's transaction. Beyond the deployment's limit of
   * QUEUED plus RUNNING jobs it is a 429 with `Retry-After` (DESIGN 4). Delete jobs are neither
   * refused nor counted: one is queued in the transaction of a tombstone (retention inside a
   * backup's completion, an operator's DELETE), which a 429 would undo, and the deletes waiting
   * for an agent that does not claim them would otherwise hold the deployment's backups off for
   * good.
   */
  enqueueJob(input: EnqueueJobInput): JobRow {
    return this.stores.db.transaction(() => {
      const { deployment } = input;
      const active = input.kind === "delete" ? 0 : this.stores.jobs.activeCount(deployment.id);
      if (active >= this.settings.maxActivePerDeployment) {
        throw new ApiError(
          429,
          "rate.limited",
          `Deployment ${deployment.name} already has ${active} queued or running jobs (the limit is ${this.settings.maxActivePerDeployment}).`,
          {
            subject: { deployment: deployment.id },
            headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
            suggestion: {
              human: `Retry after ${RETRY_AFTER_SECONDS} seconds, or cancel a queued job of this deployment.`,
              command: `stowage jobs list --deployment ${deployment.name} --state QUEUED`,
            },
          },
        );
      }
      const row: JobRow = {
        id: input.id ?? newId("job"),
        tenant_id: deployment.tenant_id,
        deployment_id: deployment.id,
        kind: input.kind,
        status: "QUEUED",
        phase: null,
        trigger: input.trigger,
        attempt: 0,
        requeues: 0,
        agent_id: null,
        backup_id: input.backupId ?? null,
        restore_id: input.restoreId ?? null,
        sequence: input.sequence ?? null,
        params: JSON.stringify(input.params ?? {}),
        message: null,
        error_message: null,
        progress_seq: null,
        lease_expires_at: null,
        cancel_requested_at: null,
        completion: null,
        created_at: nowIso(),
        started_at: null,
        ended_at: null,
        execution_time_ms: null,
      };
      this.stores.jobs.insert(row);
      this.event(row, "job_queued", "info", {
        kind: row.kind,
        ...(row.sequence !== null ? { sequence: row.sequence } : {}),
        ...input.eventBody,
      });
      return row;
    })();
  }

  /**
   * Leases the oldest queued job of a deployment the agent runs (optionally only these kinds or
   * deployment names; `delete` only when named) to the agent; `undefined` when there is none.
   */
  claimNextJob(
    agentId: string,
    filter: { kinds?: readonly JobKind[]; deployments?: readonly string[] } = {},
    now: Date = new Date(),
  ): ClaimedJob | undefined {
    return this.stores.db.transaction((): ClaimedJob | undefined => {
      const queued = this.stores.jobs.nextQueued(
        agentId,
        filter.kinds ?? KINDS_UNLESS_NAMED,
        filter.deployments,
      );
      const job = queued && this.lease(queued, agentId, now);
      return job && this.claimed(job);
    })();
  }

  /**
   * Leases the oldest queued job of this kind on a deployment the controller drives itself
   * (`driver.type`), under the driver's id: progress, logs and completion then go through the
   * same methods as an agent's. `undefined` when there is none.
   */
  claimNextDriverJob(
    driverType: DriverType,
    kind: JobKind,
    now: Date = new Date(),
  ): JobRow | undefined {
    return this.stores.db.transaction((): JobRow | undefined => {
      const queued = this.stores.jobs.nextQueuedOfDriver(driverType, kind);
      return queued && this.lease(queued, driverAgentId(driverType), now);
    })();
  }

  /**
   * Records a progress report and extends the lease. 409 tells the agent to stop: the job was
   * cancelled (this is how it learns of a cancel; the job then ends CANCELLED), finished, or its
   * lease passed to another attempt. A report whose `seq` was stored is acknowledged again.
   */
  reportProgress(
    agentId: string,
    jobId: string,
    report: ProgressReport,
    now: Date = new Date(),
  ): JobLease {
    const outcome = this.stores.db.transaction((): { lease: JobLease } | { conflict: ApiError } => {
      const job = this.agentJob(agentId, jobId);
      if (job.status === "RUNNING" && job.agent_id === agentId && job.cancel_requested_at) {
        const at = now.toISOString();
        this.finishJob(job, "CANCELLED", at, { message: "cancelled by an operator" });
        this.event(job, "job_cancelled", "warning", {
          requested_at: job.cancel_requested_at,
          phase: job.phase,
        });
        if (job.kind === "backup") this.catalog.failed(job, "cancelled", at);
        return { conflict: jobConflict(job, "cancelled", "The job was cancelled.") };
      }
      this.assertOwnedRunning(job, agentId);
      const lease = this.leaseFrom(now);
      if (job.progress_seq !== null && report.seq <= job.progress_seq) {
        // A retry of a stored report: extend the lease, append nothing.
        this.stores.jobs.recordProgress(job.id, null, job.progress_seq, lease);
        return { lease: { job: job.id, state: "running", lease_expires_at: lease } };
      }
      const at = now.toISOString();
      this.enterPhase(job, report.phase, at);
      this.stores.jobs.recordProgress(job.id, report.phase, report.seq, lease);
      if (report.message !== undefined) {
        this.appendLines(job, [
          {
            timestamp: report.at ?? at,
            level: "info",
            fields: { phase: report.phase, seq: report.seq },
            message: report.message,
          },
        ]);
      }
      this.event(job, "progress", "info", {
        phase: report.phase,
        ...(report.percent !== undefined ? { percent: report.percent } : {}),
        ...(report.bytes_done !== undefined ? { bytes: report.bytes_done } : {}),
        ...(report.bytes_total !== undefined ? { bytes_total: report.bytes_total } : {}),
        ...(report.message !== undefined ? { message: report.message } : {}),
        seq: report.seq,
      });
      return { lease: { job: job.id, state: "running", lease_expires_at: lease } };
    })();
    if ("conflict" in outcome) throw outcome.conflict;
    return outcome.lease;
  }

  /**
   * Ends a leased job with its result or failure. A backup's result fills the catalog entry
   * (sizes, sha256, location, parts, state) and retention prunes; a verify's compares the
   * digest; a restore's ends the restore. Repeating the same completion answers the same
   * result; another completion of a finished job, or one of a cancelled job or of a lease that
   * passed to another attempt, is 409.
   */
  completeJob(
    agentId: string,
    jobId: string,
    completion: JobCompletion,
    now: Date = new Date(),
  ): JobResult {
    if (
      completion.outcome === "succeeded" &&
      !SHA256_HEX.test(completion.manifest.sha256) &&
      // Remote backup APIs (the script agent's poll body) report no checksum: a driver completes
      // with an empty one, stored as null. An agent's manifest always carries its digest.
      !(completion.manifest.sha256 === "" && isDriverAgentId(agentId))
    ) {
      throw new ApiError(400, "request.invalid", "The manifest's sha256 is not a SHA-256 digest.", {
        details: [{ path: "/body/manifest/sha256", message: "must be 64 lowercase hex digits" }],
      });
    }
    const fingerprint = canonicalJson(completion);
    const outcome = this.stores.db.transaction(
      (): { result: JobResult } | { conflict: ApiError } => {
        const job = this.agentJob(agentId, jobId);
        if (isFinished(job.status)) {
          if (job.completion === fingerprint && job.status !== "CANCELLED") {
            return { result: this.resultOf(job) };
          }
          throw jobConflict(job, job.status.toLowerCase(), `The job already ended ${job.status}.`);
        }
        this.assertOwnedRunning(job, agentId);
        const at = now.toISOString();
        if (job.cancel_requested_at) {
          this.finishJob(job, "CANCELLED", at, {
            message: "cancelled by an operator",
            completion: fingerprint,
          });
          this.event(job, "job_cancelled", "warning", { requested_at: job.cancel_requested_at });
          if (job.kind === "backup") this.catalog.failed(job, "cancelled", at);
          return { conflict: jobConflict(job, "cancelled", "The job was cancelled.") };
        }
        if (completion.outcome === "failed") {
          this.failJob(job, at, {
            code: "job.failed",
            message: completion.message,
            phase: completion.phase,
            exitCode: completion.exit_code,
            retryable: completion.retryable,
            completion: fingerprint,
          });
        } else {
          this.succeed(job, completion.manifest, at, fingerprint);
        }
        return { result: this.resultOf(this.mustGet(job.id)) };
      },
    )();
    if ("conflict" in outcome) throw outcome.conflict;
    return outcome.result;
  }

  /**
   * Stores log lines of a job's run (the agent API's log submissions with `run` = the job id)
   * and copies them, truncated, into the phase logs of the job view.
   */
  appendJobLogs(agentId: string, jobId: string, lines: readonly JobLogInput[]): number {
    return this.stores.db.transaction(() => {
      const job = this.agentJob(agentId, jobId);
      this.appendLines(job, lines);
      return lines.length;
    })();
  }

  /**
   * A QUEUED job is CANCELLED at once; a RUNNING one gets `cancel_requested_at` and ends
   * CANCELLED when its agent next reports (409) or its lease runs out. 409 once finished.
   */
  requestCancel(call: Call, jobId: string): JobView {
    return this.stores.db.transaction(() => {
      const job = this.jobOf(call, jobId);
      if (isFinished(job.status)) {
        throw new ApiError(409, "resource.conflict", `The job already ended ${job.status}.`, {
          subject: { job: job.id, status: job.status },
        });
      }
      const at = nowIso();
      if (job.status === "QUEUED") {
        this.finishJob(job, "CANCELLED", at, { message: "cancelled before it started" });
        this.event(job, "job_cancelled", "warning", { requested_at: at });
        if (job.kind === "backup") this.catalog.failed(job, "cancelled", at);
      } else if (!job.cancel_requested_at) {
        this.stores.jobs.requestCancel(job.id, at);
        this.event(job, "cancel_requested", "notice", { requested_at: at });
      }
      this.stores.auditLog.append({
        tenantId: job.tenant_id,
        actor: actorOf(call.principal),
        action: "jobs.cancel",
        subject: { job: job.id, deployment: job.deployment_id },
        details: { status: job.status },
        requestId: call.requestId,
      });
      return this.present(this.mustGet(job.id));
    })();
  }

  /**
   * Jobs whose agent stopped reporting past the lease: requeued once (attempt 2 goes to the
   * next claim), then FAILED; a job whose cancel was requested ends CANCELLED instead.
   */
  expireLeases(now: Date = new Date()): LeaseSweep {
    return this.stores.db.transaction(() => {
      const sweep: LeaseSweep = { requeued: [], failed: [], cancelled: [] };
      const at = now.toISOString();
      for (const job of this.stores.jobs.expired(at))
        this.loseLease(job, at, "lease_expired", sweep);
      return sweep;
    })();
  }

  /**
   * The jobs a revoked agent held, handled as on a lost lease (the spec's revokeAgent): requeued
   * once, then FAILED; one whose cancel was requested ends CANCELLED. Runs in the caller's
   * transaction when there is one, so the revocation and its requeues commit together. A
   * requeued job waits for the deployment's agent: one the operator assigns in place of this one.
   */
  releaseAgentJobs(agentId: string, now: Date = new Date()): LeaseSweep {
    return this.stores.db.transaction(() => {
      const sweep: LeaseSweep = { requeued: [], failed: [], cancelled: [] };
      const at = now.toISOString();
      for (const job of this.stores.jobs.runningOfAgent(agentId)) {
        this.loseLease(job, at, "agent_revoked", sweep);
      }
      return sweep;
    })();
  }

  /** Runs `expireLeases` on a timer (unref'd: it never keeps the process alive); returns its stop. */
  startLeaseSweeper(onError: (error: unknown) => void): () => void {
    const interval = Math.max(25, Math.min(Math.floor(this.settings.leaseMs / 4), 5000));
    const timer = setInterval(() => {
      try {
        this.expireLeases();
      } catch (error) {
        onError(error);
      }
    }, interval);
    timer.unref();
    return () => clearInterval(timer);
  }

  // --- the control API --------------------------------------------------------------------------

  get(call: Call, jobId: string): JobView {
    return this.present(this.jobOf(call, jobId));
  }

  list(call: Call, query: JobListQuery) {
    const request = pageRequest(query);
    const deploymentId =
      query.deployment === undefined
        ? undefined
        : // A deployment deleted since keeps its jobs: its raw id still filters them.
          (this.stores.deployments.byIdOrName(call.principal.tenantId, query.deployment)?.id ??
          query.deployment);
    const rows = this.stores.jobs.page({
      tenantId: call.principal.tenantId,
      beforeId: request.after ?? ABOVE_EVERY_ID,
      limit: request.limit + 1,
      status: query.state,
      kind: query.kind,
      deploymentId,
    });
    const page = toPage(rows, request, (row) => row.id);
    const phases = this.stores.jobs.phasesOf(page.items.map((row) => row.id));
    return {
      items: page.items.map((row) => presentJob(row, phases.get(row.id) ?? [])),
      next_marker: page.next_marker,
    };
  }

  /** Forgets a finished job with its events and logs (backups and audit entries stay). */
  delete(call: Call, jobId: string): void {
    this.stores.db.transaction(() => {
      const job = this.jobOf(call, jobId);
      if (!isFinished(job.status)) {
        throw new ApiError(409, "resource.conflict", `The job is ${job.status}.`, {
          subject: { job: job.id, status: job.status },
          suggestion: {
            human: "Cancel it first, then delete it once it has ended.",
            command: `stowage jobs cancel ${job.id}`,
          },
        });
      }
      this.stores.jobs.delete(job.id, job.tenant_id);
      this.stores.auditLog.append({
        tenantId: job.tenant_id,
        actor: actorOf(call.principal),
        action: "jobs.delete",
        subject: { job: job.id, deployment: job.deployment_id },
        details: { kind: job.kind, status: job.status },
        requestId: call.requestId,
      });
    })();
  }

  /** The caller's job; another tenant's is 404, never 403. */
  jobOf(call: Call, jobId: string): JobRow {
    const job = this.stores.jobs.byId(jobId, call.principal.tenantId);
    if (!job) {
      throw new ApiError(404, "resource.not_found", `No job ${jobId}.`, {
        subject: { job: jobId },
      });
    }
    return job;
  }

  present(row: JobRow): JobView {
    return presentJob(row, this.stores.jobs.phases(row.id));
  }

  // --- transitions ------------------------------------------------------------------------------

  /** QUEUED -> RUNNING under `agentId`; `undefined` when another claim got there first. */
  private lease(queued: JobRow, agentId: string, now: Date): JobRow | undefined {
    const at = now.toISOString();
    if (!this.stores.jobs.claim(queued.id, agentId, at, this.leaseFrom(now))) return undefined;
    const job = this.mustGet(queued.id);
    if (job.kind === "backup") this.catalog.started(job, at);
    if (job.restore_id)
      this.stores.restores.setStatus(job.restore_id, "RUNNING", { startedAt: at });
    this.event(
      job,
      "job_started",
      "info",
      { agent: agentId, attempt: job.attempt },
      { agent: agentId },
    );
    return job;
  }

  /** A RUNNING job whose agent is gone: its lease ran out, or the agent was revoked. */
  private loseLease(
    job: JobRow,
    at: string,
    reason: "lease_expired" | "agent_revoked",
    sweep: LeaseSweep,
  ): void {
    const why =
      reason === "lease_expired" ? "the agent stopped reporting" : "the agent was revoked";
    if (job.cancel_requested_at) {
      this.finishJob(job, "CANCELLED", at, { message: `cancelled by an operator; ${why}` });
      this.event(job, "job_cancelled", "warning", {
        requested_at: job.cancel_requested_at,
        reason,
      });
      if (job.kind === "backup") this.catalog.failed(job, "cancelled", at);
      sweep.cancelled.push(job.id);
    } else if (job.requeues === 0) {
      this.closeOpenPhase(
        job.id,
        "FAILED",
        at,
        reason === "lease_expired" ? `lease expired: ${why}` : `lease revoked: ${why}`,
      );
      this.stores.jobs.requeue(job.id);
      if (job.kind === "backup") this.catalog.requeued(job);
      if (job.restore_id) this.stores.restores.setStatus(job.restore_id, "QUEUED", {});
      this.event(job, "requeued", "warning", {
        reason,
        agent: job.agent_id,
        attempt: job.attempt,
        ...(reason === "lease_expired" ? { lease_expired_at: job.lease_expires_at } : {}),
      });
      sweep.requeued.push(job.id);
    } else if (reason === "lease_expired") {
      this.failJob(job, at, {
        code: "lease.expired",
        message: `The agent stopped reporting: the lease expired on attempt ${job.attempt}, after a requeue.`,
      });
      sweep.failed.push(job.id);
    } else {
      this.failJob(job, at, {
        code: "agent.revoked",
        message: `The agent was revoked on attempt ${job.attempt}, after a requeue.`,
      });
      sweep.failed.push(job.id);
    }
  }

  private succeed(job: JobRow, manifest: ResultManifest, at: string, completion: string): void {
    const deployment = this.deploymentOf(job);
    this.importTimings(job, manifest, at);
    switch (job.kind) {
      case "backup": {
        this.finishJob(job, "SUCCEEDED", at, { message: "backup completed", completion });
        const backup = deployment ? this.catalog.completed(job, deployment, manifest) : undefined;
        this.event(job, "backup_completed", "notice", {
          sequence: job.sequence,
          stored_bytes: manifest.size_bytes,
          sha256: manifest.sha256,
          duration_ms: backup?.duration_ms ?? null,
          state: backup?.state,
        });
        if (!deployment) return;
        for (const pruned of this.catalog.prune(deployment, at)) {
          queueBackupFileDeletes(this.stores, this, deployment, pruned, "retention");
        }
        return;
      }
      case "verify": {
        const backup = job.backup_id
          ? this.stores.backups.byId(job.backup_id, job.deployment_id)
          : undefined;
        const ok =
          backup !== undefined &&
          backup.sha256 === manifest.sha256 &&
          (backup.stored_bytes === null || backup.stored_bytes === manifest.size_bytes);
        const message = ok
          ? "the stored artifact matches the manifest"
          : `the stored artifact does not match the manifest (sha256 ${manifest.sha256}, ${manifest.size_bytes} bytes)`;
        this.catalog.verified(job, { ok, at, message });
        if (ok) {
          this.finishJob(job, "SUCCEEDED", at, { message, completion });
          this.event(job, "verify_completed", "info", {
            ok: true,
            sha256: manifest.sha256,
            checked_bytes: manifest.size_bytes,
          });
        } else {
          this.failJob(job, at, { code: "verify.failed", message, completion });
        }
        return;
      }
      case "restore": {
        this.finishJob(job, "SUCCEEDED", at, { message: "restore completed", completion });
        const restore = job.restore_id
          ? this.stores.restores.byIdInAnyTenant(job.restore_id)
          : undefined;
        this.event(job, "restore_completed", "notice", {
          backup: job.backup_id,
          verified: restore ? restore.verify !== "skip" : false,
          duration_ms: job.started_at
            ? Math.max(0, Date.parse(at) - Date.parse(job.started_at))
            : null,
        });
        return;
      }
      case "delete": {
        this.finishJob(job, "SUCCEEDED", at, { message: "backup files removed", completion });
        this.event(job, "backup_files_removed", "notice", {
          sequence: job.sequence,
          removed_bytes: manifest.size_bytes,
        });
        return;
      }
    }
  }

  private failJob(
    job: JobRow,
    at: string,
    failure: {
      code: string;
      message: string;
      phase?: string;
      exitCode?: number;
      retryable?: boolean;
      completion?: string;
    },
  ): void {
    this.finishJob(job, "FAILED", at, {
      errorMessage: failure.message,
      completion: failure.completion,
    });
    if (job.kind === "backup") this.catalog.failed(job, failure.message, at);
    if (job.kind === "verify" && failure.code !== "verify.failed") {
      this.catalog.verified(job, { ok: false, at, message: failure.message });
    }
    this.event(job, "job_failed", "error", {
      code: failure.code,
      message: failure.message,
      ...(failure.phase !== undefined ? { phase: failure.phase } : {}),
      ...(failure.exitCode !== undefined ? { exit_code: failure.exitCode } : {}),
      ...(failure.retryable !== undefined ? { retryable: failure.retryable } : {}),
    });
  }

  /** The status change every ending shares: the job row, its open phase, its restore. */
  private finishJob(
    job: JobRow,
    status: FinalStatus,
    at: string,
    outcome: { message?: string; errorMessage?: string; completion?: string },
  ): void {
    const executionTimeMs = job.started_at
      ? Math.max(0, Date.parse(at) - Date.parse(job.started_at))
      : null;
    if (!this.stores.jobs.finish(job.id, status, at, { ...outcome, executionTimeMs })) {
      throw jobConflict(job, job.status.toLowerCase(), `The job already ended ${job.status}.`);
    }
    this.closeOpenPhase(job.id, status, at, outcome.errorMessage);
    if (job.restore_id) {
      this.stores.restores.setStatus(job.restore_id, status, {
        startedAt: job.started_at,
        endedAt: at,
      });
    }
  }

  private enterPhase(job: JobRow, name: string, at: string): void {
    const phases = this.stores.jobs.phases(job.id);
    const current = phases[phases.length - 1];
    if (current && current.status === "RUNNING" && current.name === name) return;
    if (current && current.status === "RUNNING") {
      this.stores.jobs.updatePhase({ ...current, status: "SUCCEEDED", ended_at: at });
      this.event(job, "phase_completed", "info", { phase: current.name });
    }
    this.stores.jobs.insertPhase({
      job_id: job.id,
      position: phases.length,
      name,
      status: "RUNNING",
      started_at: at,
      ended_at: null,
      log: "",
      error_log: "",
      log_truncated: 0,
    });
    this.event(job, "phase_started", "info", { phase: name });
  }

  private closeOpenPhase(jobId: string, status: string, at: string, errorText?: string): void {
    const phases = this.stores.jobs.phases(jobId);
    const current = phases[phases.length - 1];
    if (!current || current.status !== "RUNNING") return;
    const closed = { ...current, status, ended_at: at };
    this.stores.jobs.updatePhase(
      errorText ? appendToPhase(closed, "error_log", errorText) : closed,
    );
  }

  /** A manifest's phase timings become the job's phases when the agent reported none. */
  private importTimings(job: JobRow, manifest: ResultManifest, at: string): void {
    if (manifest.timings.length === 0 || this.stores.jobs.phases(job.id).length > 0) return;
    let start = Date.parse(manifest.started_at);
    manifest.timings.forEach((timing, position) => {
      const end = start + timing.duration_ms;
      this.stores.jobs.insertPhase({
        job_id: job.id,
        position,
        name: timing.phase,
        status: "SUCCEEDED",
        started_at: new Date(start).toISOString(),
        ended_at: Number.isFinite(end) ? new Date(end).toISOString() : at,
        log: "",
        error_log: "",
        log_truncated: 0,
      });
      start = end;
    });
  }

  private appendLines(job: JobRow, lines: readonly JobLogInput[]): void {
    if (lines.length === 0) return;
    const phases = this.stores.jobs.phases(job.id);
    for (const line of lines) {
      const level = LOG_LEVELS[line.level];
      this.stores.jobs.insertLog({
        job_id: job.id,
        at: line.timestamp,
        level,
        fields: JSON.stringify(line.fields ?? {}),
        message: line.message,
      });
      const named = typeof line.fields?.phase === "string" ? line.fields.phase : undefined;
      const phase = named
        ? [...phases].reverse().find((candidate) => candidate.name === named)
        : phases[phases.length - 1];
      if (!phase) continue;
      const stderr = line.fields?.stream === "stderr" || level === "error" || level === "fatal";
      const updated = appendToPhase(phase, stderr ? "error_log" : "log", line.message);
      phases[phases.indexOf(phase)] = updated;
      this.stores.jobs.updatePhase(updated);
    }
    this.stores.eventLog.logsAppended(job.tenant_id, job.id);
  }

  private event(
    job: JobRow,
    op: string,
    severity: Severity,
    body: Record<string, unknown>,
    subject: Record<string, string> = {},
  ): void {
    this.stores.eventLog.record({
      tenantId: job.tenant_id,
      deploymentId: job.deployment_id,
      jobId: job.id,
      op,
      severity,
      subject: {
        ...(job.backup_id ? { backup: job.backup_id } : {}),
        ...(job.restore_id ? { restore: job.restore_id } : {}),
        ...subject,
      },
      body,
    });
  }

  // --- lookups ----------------------------------------------------------------------------------

  /**
   * A job the agent may act on: one of a deployment it runs, or one it holds. Any other is 404,
   * as another tenant's resource is on the control API.
   */
  private agentJob(agentId: string, jobId: string): JobRow {
    const job = this.stores.jobs.byIdInAnyTenant(jobId);
    if (!job || (job.agent_id !== agentId && this.deploymentOf(job)?.agent_id !== agentId)) {
      throw new ApiError(404, "resource.not_found", `No job ${jobId} for this agent.`, {
        subject: { job: jobId },
      });
    }
    return job;
  }

  private assertOwnedRunning(job: JobRow, agentId: string): void {
    if (job.status === "RUNNING" && job.agent_id === agentId) return;
    if (isFinished(job.status)) {
      throw jobConflict(job, job.status.toLowerCase(), `The job already ended ${job.status}.`);
    }
    throw jobConflict(
      job,
      job.status === "QUEUED" ? "requeued" : "reassigned",
      "The job's lease passed to another attempt.",
    );
  }

  private deploymentOf(job: JobRow): DeploymentRow | undefined {
    return this.stores.deployments.byIdOrName(job.tenant_id, job.deployment_id);
  }

  private mustGet(jobId: string): JobRow {
    const job = this.stores.jobs.byIdInAnyTenant(jobId);
    if (!job) throw new Error(`job ${jobId} vanished inside its own transaction`);
    return job;
  }

  private leaseFrom(now: Date): string {
    return new Date(now.getTime() + this.settings.leaseMs).toISOString();
  }

  private resultOf(job: JobRow): JobResult {
    const backup =
      job.kind === "backup" && job.backup_id && job.sequence !== null
        ? { id: job.backup_id, sequence: job.sequence }
        : undefined;
    return {
      job: job.id,
      kind: job.kind,
      state: job.status === "SUCCEEDED" ? "succeeded" : "failed",
      finished_at: job.ended_at ?? nowIso(),
      ...(backup && job.status === "SUCCEEDED" ? { backup } : {}),
    };
  }

  private claimed(job: JobRow): ClaimedJob {
    const deployment = this.deploymentOf(job);
    const params = JSON.parse(job.params) as { target_ids?: string[] };
    const base = {
      id: job.id,
      kind: job.kind,
      deployment: deployment?.name ?? job.deployment_id,
      attempt: job.attempt,
      created_at: job.created_at,
      lease_expires_at: job.lease_expires_at ?? this.leaseFrom(new Date()),
    };
    if (job.kind === "delete") return { ...base, kind: "delete", backup: storedFilesOf(job) };
    const backup = job.backup_id
      ? this.stores.backups.byId(job.backup_id, job.deployment_id)
      : undefined;
    if (job.kind === "backup") {
      const targets = params.target_ids?.map(
        (id) => this.stores.targets.byId(id, job.tenant_id)?.name ?? id,
      );
      return {
        ...base,
        kind: "backup",
        trigger: job.trigger === "schedule" ? "schedule" : "manual",
        backup: { id: job.backup_id ?? "", sequence: job.sequence ?? 0 },
        ...(targets ? { targets } : {}),
      };
    }
    const metadata = backup ? (JSON.parse(backup.metadata) as Record<string, unknown>) : {};
    const location = backup ? (JSON.parse(backup.locations) as { url: string }[])[0] : undefined;
    // Restores and verifies are refused (412) unless the backup COMPLETED, so these are stored;
    // were one missing, response validation would refuse the empty value loudly.
    const ref: StoredBackupRef = {
      id: backup?.id ?? job.backup_id ?? "",
      sequence: backup?.sequence ?? 0,
      location: location?.url ?? "",
      sha256: backup?.sha256 ?? "",
      size_bytes: backup?.stored_bytes ?? 0,
      ...(metadata.compression_alg === "gzip" || metadata.compression_alg === "none"
        ? { compression: metadata.compression_alg }
        : {}),
      ...(metadata.encrypted === true &&
      metadata.encryption_algorithm === "aes-256-gcm" &&
      typeof metadata.key_ref === "string"
        ? {
            encryption: {
              algorithm: metadata.encryption_algorithm,
              key_ref: metadata.key_ref,
            },
          }
        : {}),
    };
    if (job.kind === "verify") return { ...base, kind: "verify", backup: ref };
    const restore = job.restore_id
      ? this.stores.restores.byIdInAnyTenant(job.restore_id)
      : undefined;
    return {
      ...base,
      kind: "restore",
      backup: ref,
      destination: restore?.target ?? (deployment ? inPlaceDestination(deployment) : ""),
      force: restore?.force === 1,
    };
  }
}

const LOG_LEVELS: Record<JobLogInput["level"], components["schemas"]["LogLine"]["level"]> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  fatal: "fatal",
  panic: "fatal",
};

export function isFinished(status: JobStatus): boolean {
  return status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED";
}

function jobConflict(job: JobRow, state: string, message: string): ApiError {
  return new ApiError(409, "resource.conflict", message, {
    subject: { job: job.id, state },
    suggestion: { human: "Stop the job, clean up partial output, and claim the next one." },
  });
}

function appendToPhase(phase: JobPhaseRow, column: "log" | "error_log", text: string): JobPhaseRow {
  const line = text.endsWith("\n") ? text : `${text}\n`;
  const current = phase[column];
  if (current.length + line.length <= PHASE_LOG_LIMIT) {
    return { ...phase, [column]: current + line };
  }
  return {
    ...phase,
    [column]: (current + line).slice(0, PHASE_LOG_LIMIT),
    log_truncated: 1,
  };
}

/**
 * Where an in-place restore writes, without credentials: the deployment's own database, file
 * or directories (a `files` archive holds absolute paths, so it is unpacked from the root).
 */
export function inPlaceDestination(deployment: DeploymentRow): string {
  const settings = settingsFromRow(deployment);
  const connection: StoredConnection = settings.connection;
  const database = connection.databases?.length === 1 ? connection.databases[0] : "";
  switch (settings.kind) {
    case "mysql":
      return `mysql://${connection.host ?? "localhost"}:${connection.port ?? 3306}/${database}`;
    case "postgres":
      return `postgresql://${connection.host ?? "localhost"}:${connection.port ?? 5432}/${database}`;
    case "sqlite":
      return connection.path ?? "";
    case "files":
      return "/";
    case "zeebe":
      return "";
  }
}

export function presentJob(row: JobRow, phases: readonly JobPhaseRow[]): JobView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    deployment_id: row.deployment_id,
    kind: row.kind,
    status: row.status,
    phase: row.phase,
    trigger: row.trigger as JobView["trigger"],
    attempt: row.attempt,
    agent_id: row.agent_id,
    backup_id: row.backup_id,
    restore_id: row.restore_id,
    sequence: row.sequence,
    message: row.message,
    error_message: row.error_message,
    phases: phases.map((phase): PhaseView => ({
      name: phase.name,
      status: phase.status as PhaseView["status"],
      started_at: phase.started_at,
      ended_at: phase.ended_at,
      log: phase.log,
      error_log: phase.error_log,
      log_truncated: phase.log_truncated === 1,
    })),
    created_at: row.created_at,
    started_at: row.started_at,
    ended_at: row.ended_at,
    execution_time_ms: row.execution_time_ms,
    cancel_requested_at: row.cancel_requested_at,
  };
}
