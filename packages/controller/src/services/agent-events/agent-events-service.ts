import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/agent-server";
import { AgentEventsStore, type AgentRunRow } from "../../store/agent-events-store";
import type { DeploymentRow } from "../../store/deployments-store";
import type { AgentPrincipal } from "../agent-principal";
import { BackupCatalog, type ResultManifest } from "../backup-catalog";
import type { Stores } from "../control-context";
import { nowIso } from "../identifiers";
import type { JobCompletion, JobsService } from "../jobs-service";
import { reserveAgentBackup } from "./agent-backups";

/** One structured run event as the agent API defines it (`AgentEvent`, by `type`). */
export type AgentEvent = components["schemas"]["AgentEvent"];

/**
 * `run.succeeded` as OTLP spans can tell it: the databacker span convention carries no checksum,
 * and the size may be only on the `upload` phase.
 */
export type RunSucceededWithoutDigest = Omit<
  components["schemas"]["RunSucceededEvent"],
  "sha256" | "bytes"
> & { sha256?: string; bytes?: number };

/** What `ingestAgentEvents` takes: the spec's events, and the span-made success above. */
export type IngestedAgentEvent = AgentEvent | RunSucceededWithoutDigest;

/** What one ingestion stored: the spec's `EventBatchReceipt`. */
export interface EventIngestReceipt {
  /** Events stored by this call. */
  accepted: number;
  /** Events whose id this agent had already stored; not stored again. */
  duplicates: number;
}

interface Timing {
  phase: string;
  duration_ms: number;
}

/** A run touched by the call being ingested; written back once, at the end of the call. */
interface OpenRun {
  row: AgentRunRow;
  timings: Timing[];
  dirty: boolean;
}

/**
 * The one way agent run events enter the controller, whatever carried them: `postEvents`
 * batches, and OTLP spans mapped to `AgentEvent`s by the trace ingestion.
 *
 * - Idempotent on (agent, event id): a stored id counts as a duplicate and has no effect again.
 * - One transaction per call, committed before it returns: an acknowledged event is never lost,
 *   and a refused call stores nothing.
 * - How a run finds its place, on its first event (usually `run.started`):
 *   1. `job` on `run.started`: the claimed job it carries out (one of this agent's, else 400).
 *      Its end completes the job through the job state machine, as `completeJob` would, and
 *      the job fills its backup in the catalog.
 *   2. Otherwise `deployment` on `run.started`: a deployment this agent runs (else 400).
 *   3. Otherwise the one deployment the agent runs; an agent running none or several must name
 *      it (400). That is mysql-backup's case: one database, its own schedule, no job.
 *   A backup run without a job gets a catalog entry of its own (trigger `agent`, the next
 *   sequence of its deployment), IN_PROGRESS until `run.succeeded` (COMPLETED with size,
 *   sha256, location and the phase timings) or `run.failed` (FAILED).
 * - Events after a run's end are stored and change nothing.
 */
export class AgentEventsService {
  private readonly store: AgentEventsStore;
  private readonly catalog: BackupCatalog;

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
  ) {
    this.store = new AgentEventsStore(stores.db);
    this.catalog = new BackupCatalog(stores);
  }

  /**
   * Stores and applies `events` in order. A refusal (an event naming a job or deployment that
   * is not this agent's) is a 400 whose `details[].path` is `/body/events/<index>/...`.
   */
  ingestAgentEvents(
    principal: AgentPrincipal,
    events: readonly IngestedAgentEvent[],
  ): EventIngestReceipt {
    const receivedAt = nowIso();
    return this.stores.db.transaction((): EventIngestReceipt => {
      const runs = new Map<string, OpenRun>();
      let accepted = 0;
      events.forEach((event, index) => {
        const fresh = this.store.insertEvent({
          agent_id: principal.agentId,
          id: event.id,
          tenant_id: principal.tenantId,
          run: event.run,
          type: event.type,
          at: event.at,
          body: JSON.stringify(event),
          received_at: receivedAt,
        });
        if (!fresh) return;
        accepted++;
        this.apply(principal, event, index, runs, receivedAt);
      });
      for (const run of runs.values()) {
        if (!run.dirty) continue;
        this.store.saveRun({
          ...run.row,
          timings: JSON.stringify(run.timings),
          updated_at: receivedAt,
        });
      }
      return { accepted, duplicates: events.length - accepted };
    })();
  }

  private apply(
    principal: AgentPrincipal,
    event: IngestedAgentEvent,
    index: number,
    runs: Map<string, OpenRun>,
    receivedAt: string,
  ): void {
    const run = runs.get(event.run) ?? this.load(principal, event, index, receivedAt);
    runs.set(event.run, run);
    if (run.row.state !== "running") return;
    switch (event.type) {
      case "run.started":
      case "phase.started":
        return;
      case "phase.finished":
        run.timings.push({ phase: event.phase, duration_ms: event.duration_ms });
        if (event.target !== undefined) run.row.target = event.target;
        // The stored size is what `upload` wrote (one span per target, the same artifact);
        // `dump` counts bytes processed, before compression.
        if (event.bytes !== undefined && event.phase === "upload")
          run.row.bytes = Math.max(run.row.bytes ?? 0, event.bytes);
        run.dirty = true;
        return;
      case "run.succeeded":
        this.succeed(principal, run, event);
        break;
      case "run.failed":
        this.fail(principal, run, event);
        break;
    }
    run.row.ended_at = event.at;
    run.dirty = true;
  }

  /** The run as stored, or a new one placed by this, its first event. */
  private load(
    principal: AgentPrincipal,
    event: IngestedAgentEvent,
    index: number,
    receivedAt: string,
  ): OpenRun {
    const stored = this.store.run(principal.agentId, event.run);
    if (stored) {
      return { row: stored, timings: JSON.parse(stored.timings) as Timing[], dirty: false };
    }
    const started = event.type === "run.started" ? event : undefined;
    const startedAt =
      event.type !== "run.started" && "duration_ms" in event && event.duration_ms !== undefined
        ? new Date(Date.parse(event.at) - event.duration_ms).toISOString()
        : event.at;
    const row: AgentRunRow = {
      agent_id: principal.agentId,
      run: event.run,
      tenant_id: principal.tenantId,
      deployment_id: null,
      job_id: null,
      backup_id: null,
      operation: started?.operation ?? "backup",
      state: "running",
      started_at: startedAt,
      ended_at: null,
      timings: "[]",
      target: null,
      bytes: null,
      updated_at: receivedAt,
    };
    if (started?.job !== undefined) {
      const job = this.stores.jobs.byIdInAnyTenant(started.job);
      const ownJob =
        job !== undefined &&
        job.tenant_id === principal.tenantId &&
        (job.agent_id === principal.agentId ||
          this.stores.deployments.agentOf(job.deployment_id) === principal.agentId);
      if (!job || !ownJob) throw refusal(index, "job", `${started.job} is not a job of this agent`);
      // A run is a backup, restore or verify: a delete job reports through completeJob alone.
      if (job.kind === "delete") {
        throw refusal(
          index,
          "job",
          `${started.job} is a delete job, which is not reported as a run`,
        );
      }
      row.deployment_id = job.deployment_id;
      row.job_id = job.id;
      row.backup_id = job.backup_id;
      row.operation = job.kind;
    } else {
      const deployment = this.deploymentOfRun(principal, started?.deployment, index);
      row.deployment_id = deployment.id;
      if (row.operation === "backup") {
        row.backup_id = reserveAgentBackup(this.stores, this.catalog, deployment, {
          run: event.run,
          at: startedAt,
          agentId: principal.agentId,
        });
      }
    }
    return { row, timings: [], dirty: true };
  }

  private deploymentOfRun(
    principal: AgentPrincipal,
    name: string | undefined,
    index: number,
  ): DeploymentRow {
    if (name !== undefined) {
      const named = this.stores.deployments.byName(principal.tenantId, name);
      if (!named || named.agent_id !== principal.agentId)
        throw refusal(index, "deployment", `${name} is not a deployment this agent runs`);
      return named;
    }
    const own = this.store.deploymentsOfAgent(principal.agentId, principal.tenantId);
    if (own.length === 1) return own[0];
    throw refusal(
      index,
      "deployment",
      own.length === 0
        ? "this agent runs no deployment, so a run needs a claimed job"
        : "this agent runs several deployments: name one on run.started",
    );
  }

  private succeed(
    principal: AgentPrincipal,
    run: OpenRun,
    event: Extract<IngestedAgentEvent, { type: "run.succeeded" }>,
  ): void {
    run.row.state = "succeeded";
    const bytes = event.bytes ?? run.row.bytes ?? 0;
    const manifest: ResultManifest = {
      size_bytes: bytes,
      // Empty: the catalog keeps no digest (spans carry none).
      sha256: event.sha256 ?? "",
      location: event.location ?? "",
      ...(run.row.target !== null ? { target: run.row.target } : {}),
      started_at: run.row.started_at,
      finished_at: event.at,
      timings: run.timings,
    };
    if (run.row.job_id !== null) {
      // A job's manifest must carry a digest: without one the agent completes the job itself
      // (completeJob), or its lease runs out.
      if (event.sha256 !== undefined)
        this.completeJob(principal, run.row.job_id, { outcome: "succeeded", manifest });
      return;
    }
    const deployment = this.deploymentOf(run.row);
    if (!deployment || run.row.backup_id === null) return;
    const ref = { backup_id: run.row.backup_id, deployment_id: deployment.id };
    const backup = this.catalog.completed(ref, deployment, manifest);
    this.stores.eventLog.record({
      tenantId: deployment.tenant_id,
      deploymentId: deployment.id,
      op: "backup_completed",
      severity: "notice",
      subject: { backup: run.row.backup_id, agent: principal.agentId },
      body: {
        sequence: backup?.sequence,
        stored_bytes: bytes,
        sha256: event.sha256 ?? null,
        duration_ms: event.duration_ms,
        state: backup?.state,
        run: event.run,
      },
      at: event.at,
    });
    this.catalog.prune(deployment, event.at);
  }

  private fail(
    principal: AgentPrincipal,
    run: OpenRun,
    event: Extract<IngestedAgentEvent, { type: "run.failed" }>,
  ): void {
    run.row.state = "failed";
    if (run.row.job_id !== null) {
      this.completeJob(principal, run.row.job_id, {
        outcome: "failed",
        finished_at: event.at,
        message: event.message,
        ...(event.phase !== undefined ? { phase: event.phase } : {}),
        ...(event.exit_code !== undefined ? { exit_code: event.exit_code } : {}),
      });
      return;
    }
    const deployment = this.deploymentOf(run.row);
    if (!deployment || run.row.backup_id === null) return;
    this.catalog.failed(
      { backup_id: run.row.backup_id, deployment_id: deployment.id },
      event.message,
      event.at,
    );
    this.stores.eventLog.record({
      tenantId: deployment.tenant_id,
      deploymentId: deployment.id,
      op: "backup_failed",
      severity: "error",
      subject: { backup: run.row.backup_id, agent: principal.agentId },
      body: {
        message: event.message,
        run: event.run,
        ...(event.phase !== undefined ? { phase: event.phase } : {}),
        ...(event.exit_code !== undefined ? { exit_code: event.exit_code } : {}),
      },
      at: event.at,
    });
  }

  /**
   * Ends the run's job through the state machine. A job that cannot take it (cancelled, already
   * ended otherwise, forgotten, its lease passed on) keeps its state: the event is still stored,
   * and the agent's run is over either way.
   */
  private completeJob(principal: AgentPrincipal, jobId: string, completion: JobCompletion): void {
    try {
      this.jobs.completeJob(principal.agentId, jobId, completion);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 409 || error.status === 404)) return;
      throw error;
    }
  }

  private deploymentOf(row: AgentRunRow): DeploymentRow | undefined {
    return row.deployment_id === null
      ? undefined
      : this.stores.deployments.byIdOrName(row.tenant_id, row.deployment_id);
  }
}

function refusal(index: number, field: string, message: string): ApiError {
  return new ApiError(400, "request.invalid", `Event ${index} cannot be placed: ${message}.`, {
    details: [{ path: `/body/events/${index}/${field}`, message }],
  });
}
