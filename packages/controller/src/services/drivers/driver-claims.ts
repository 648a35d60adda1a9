import type { Logger } from "../../observability/logger";
import type { JobRow } from "../../store/jobs-store";
import type { Stores } from "../control-context";
import type { HubMessage } from "../event-hub";
import type { DriverType, JobsService } from "../jobs-service";

/** Runs one claimed job to its end; `signal` aborts when the driver stops. */
export type DriverJobRunner = (job: JobRow, signal: AbortSignal) => Promise<void>;

/**
 * The claim side of a push driver: claims the queued backup jobs of its deployments under its
 * driver id when a `job_queued` or `requeued` event says there may be one (no polling loop), and
 * once at start for those queued while the controller was down; keeps one run per job.
 */
export class DriverClaims {
  private readonly runs = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
    private readonly driverType: DriverType,
    private readonly runJob: DriverJobRunner,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.unsubscribe = this.stores.eventHub.subscribe((message) => this.hear(message));
    this.claimQueued();
  }

  /** Stops claiming and aborts the runs; resolves once none touches the database any more. */
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
        const job = this.jobs.claimNextDriverJob(this.driverType, "backup");
        if (!job) return;
        this.startRun(job);
      }
    } catch (error) {
      this.logger.error({ err: error }, `${this.driverType} driver: claiming a job failed`);
    }
  }

  private startRun(job: JobRow): void {
    // A job whose lease expired under a run that still polls is claimed again: the run that
    // holds it already carries on under the same driver id.
    if (this.runs.has(job.id)) return;
    const run = this.runJob(job, this.stopping.signal)
      .catch((error: unknown) =>
        this.logger.error({ err: error, job: job.id }, `${this.driverType} driver: run failed`),
      )
      .finally(() => this.runs.delete(job.id));
    this.runs.set(job.id, run);
  }
}
