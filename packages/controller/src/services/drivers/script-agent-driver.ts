import { createScriptAgentClient, type ScriptAgentClient } from "@stowage/script-agent-client";
import type { Logger } from "../../observability/logger";
import type { JobRow } from "../../store/jobs-store";
import type { Stores } from "../control-context";
import { secretsFromRow, settingsFromRow } from "../deployment-settings";
import type { HubMessage } from "../event-hub";
import type { JobsService } from "../jobs-service";
import { ScriptAgentBackupRun } from "./script-agent-run";

export interface ScriptAgentDriverOptions {
  logger: Logger;
  /**
   * How often a running job is polled. Scripts take minutes, so a few seconds of delay in
   * noticing the end costs nothing, and each poll also extends the job's lease.
   */
  pollIntervalMs?: number;
  /**
   * How long an agent may stay unreachable before its job fails. The default, half the job
   * lease, fails it before a trigger that never got through (no phase yet, so no lease kept)
   * loses the lease to the sweeper.
   */
  unreachableMs?: number;
  /** Per request to the agent. */
  requestTimeoutMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 2000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Runs the backup jobs of `script-agent` deployments on their script-driven backup agents
 * (`compat/script-agent.yaml`). Claims are woken by `job_queued` and `requeued` events, not by
 * a polling loop: the only timers are the polls of agents' running jobs. A job the driver held
 * when the controller stopped is requeued when its lease runs out, and its next attempt adopts
 * the agent's job (its trigger answers 409 for the same id).
 */
export class ScriptAgentDriver {
  private readonly runs = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
    private readonly options: ScriptAgentDriverOptions,
  ) {}

  /** Listens for queued jobs and claims those queued while the controller was down. */
  start(): void {
    this.unsubscribe = this.stores.eventHub.subscribe((message) => this.hear(message));
    this.claimQueued();
  }

  /**
   * Stops claiming and ends the runs without completing their jobs (the agents' scripts go on);
   * resolves once none touches the database any more.
   */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.stopping.abort();
    await Promise.allSettled(this.runs.values());
  }

  private hear(message: HubMessage): void {
    if (message.type !== "event") return;
    const { op, deployment_id: deploymentId } = message.event;
    if ((op !== "job_queued" && op !== "requeued") || deploymentId === null) return;
    // A pull deployment's jobs are its agent's: no claim query for those.
    if (this.stores.deployments.agentOf(deploymentId) !== undefined) return;
    this.claimQueued();
  }

  private claimQueued(): void {
    try {
      while (!this.stopping.signal.aborted) {
        const job = this.jobs.claimNextDriverJob("script-agent", "backup");
        if (!job) return;
        this.startRun(job);
      }
    } catch (error) {
      this.options.logger.error({ err: error }, "script-agent driver: claiming a job failed");
    }
  }

  private startRun(job: JobRow): void {
    // A job whose lease expired under a run that still polls is claimed again: the run that
    // holds it already carries on under the same driver id.
    if (this.runs.has(job.id)) return;
    const run = new ScriptAgentBackupRun(job, {
      stores: this.stores,
      jobs: this.jobs,
      client: this.clientFor(job),
      pollIntervalMs: this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      unreachableMs: this.options.unreachableMs ?? Math.floor(this.jobs.settings.leaseMs / 2),
      signal: this.stopping.signal,
    })
      .run()
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, job: job.id }, "script-agent driver: run failed"),
      )
      .finally(() => this.runs.delete(job.id));
    this.runs.set(job.id, run);
  }

  private clientFor(job: JobRow): ScriptAgentClient {
    const deployment = this.stores.deployments.byIdOrName(job.tenant_id, job.deployment_id);
    const driver = deployment ? settingsFromRow(deployment).driver : undefined;
    const password = deployment ? (secretsFromRow(deployment).driver?.password ?? "") : "";
    const url = driver?.type === "script-agent" ? driver.url : "";
    const username = driver?.type === "script-agent" ? driver.username : "";
    return createScriptAgentClient({
      baseUrl: url,
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
      },
      // Retries are the run's: a 429 waits while the job's lease is kept and its cancel heard.
      retry: false,
      timeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
  }
}
