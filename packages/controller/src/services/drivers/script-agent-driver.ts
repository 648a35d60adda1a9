import { createScriptAgentClient, type ScriptAgentClient } from "@stowage/script-agent-client";
import type { Logger } from "../../observability/logger";
import type { JobRow } from "../../store/jobs-store";
import type { Stores } from "../control-context";
import { secretsFromRow, settingsFromRow } from "../deployment-settings";
import type { JobsService } from "../jobs-service";
import { DriverClaims } from "./driver-claims";
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
  private readonly claims: DriverClaims;

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
    private readonly options: ScriptAgentDriverOptions,
  ) {
    this.claims = new DriverClaims(
      stores,
      jobs,
      "script-agent",
      (job, signal) => this.runJob(job, signal),
      options.logger,
    );
  }

  /** Listens for queued jobs and claims those queued while the controller was down. */
  start(): void {
    this.claims.start();
  }

  /**
   * Stops claiming and ends the runs without completing their jobs (the agents' scripts go on);
   * resolves once none touches the database any more.
   */
  stop(): Promise<void> {
    return this.claims.stop();
  }

  private runJob(job: JobRow, signal: AbortSignal): Promise<void> {
    return new ScriptAgentBackupRun(job, {
      stores: this.stores,
      jobs: this.jobs,
      client: this.clientFor(job),
      pollIntervalMs: this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      unreachableMs: this.options.unreachableMs ?? Math.floor(this.jobs.settings.leaseMs / 2),
      signal,
    }).run();
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
