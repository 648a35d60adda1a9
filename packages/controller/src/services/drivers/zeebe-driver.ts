import { createZeebeBackupClient } from "@stowage/zeebe-backup-client";
import type { Logger } from "../../observability/logger";
import type { JobRow } from "../../store/jobs-store";
import type { Stores } from "../control-context";
import { secretsFromRow, settingsFromRow } from "../deployment-settings";
import type { JobsService } from "../jobs-service";
import { DriverClaims } from "./driver-claims";
import { ZeebeCatalogDeletes } from "./zeebe-deletes";
import { ZEEBE_DRIVER, ZeebeBackupRun } from "./zeebe-run";

export interface ZeebeDriverOptions {
  logger: Logger;
  /**
   * How often a running backup's status is polled. A Zeebe backup takes a snapshot of each
   * partition, seconds to minutes; each poll also extends the job's lease.
   */
  pollIntervalMs?: number;
  /**
   * A backup's time limit from its job's first start, gateway outages included: past it the job
   * fails (ZeebeRunOptions.backupTimeoutMs). The controller's `zeebeBackupTimeoutMs` setting.
   */
  backupTimeoutMs: number;
  /** Per request to the gateway. */
  requestTimeoutMs?: number;
  /** The waits before each retry of a catalog delete the cluster did not take (ZeebeCatalogDeletes). */
  deleteRetryDelaysMs?: readonly number[];
}

const DEFAULT_POLL_INTERVAL_MS = 2000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
// Outlasts a gateway restart or a broker failover; a longer outage leaves the backup to an operator.
// The waits are kept in the database, so they may outlast a restart as well.
const DEFAULT_DELETE_RETRY_DELAYS_MS = [
  30_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  6 * 3_600_000,
];

/**
 * Runs the backup jobs of `zeebe` deployments on their clusters' backup management API
 * (`compat/zeebe-backup.yaml`), claimed under the driver id `driver:zeebe`, and deletes on the
 * clusters the backups the catalog tombstones.
 */
export class ZeebeDriver {
  private readonly claims: DriverClaims;
  private readonly deletes: ZeebeCatalogDeletes;
  /** Every run by job id, claimed or adopted: a job never has two. */
  private readonly runs = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
    private readonly options: ZeebeDriverOptions,
  ) {
    this.claims = new DriverClaims(
      stores,
      jobs,
      "zeebe",
      (job, signal) => this.runJob(job, signal, false),
      options.logger,
    );
    this.deletes = new ZeebeCatalogDeletes(stores, {
      logger: options.logger,
      clientOf: (url, username, password) => this.clientOf(url, username, password),
      retryDelaysMs: options.deleteRetryDelaysMs ?? DEFAULT_DELETE_RETRY_DELAYS_MS,
    });
  }

  start(): void {
    this.adoptRunning();
    this.claims.start();
    this.deletes.start();
  }

  /**
   * Stops claiming and deleting; the clusters' backups go on, and the next start adopts their
   * jobs. Deletes waiting for a retry stay recorded for the next start (ZeebeCatalogDeletes).
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([
      this.claims.stop(),
      this.deletes.stop(),
      Promise.allSettled(this.runs.values()),
    ]);
  }

  /**
   * The jobs this driver held when the controller stopped: their backups went on on the
   * clusters, so their runs resume polling them at once, before the lease runs out and the
   * sweeper spends the job's one requeue on a stop that was no failure.
   */
  private adoptRunning(): void {
    for (const job of this.stores.jobs.runningOfAgent(ZEEBE_DRIVER)) {
      this.runJob(job, this.stopping.signal, true).catch((error: unknown) =>
        this.options.logger.error({ err: error, job: job.id }, "zeebe driver: run failed"),
      );
    }
  }

  private runJob(job: JobRow, signal: AbortSignal, adopted: boolean): Promise<void> {
    // An adopted run whose lease ran out meanwhile is claimed again: the run already carries on.
    const running = this.runs.get(job.id);
    if (running) return running;
    const run = this.newRun(job, signal, adopted)
      .run()
      .finally(() => this.runs.delete(job.id));
    this.runs.set(job.id, run);
    return run;
  }

  private newRun(job: JobRow, signal: AbortSignal, adopted: boolean): ZeebeBackupRun {
    const deployment = this.stores.deployments.byIdOrName(job.tenant_id, job.deployment_id);
    const driver = deployment ? settingsFromRow(deployment).driver : undefined;
    const password = deployment ? secretsFromRow(deployment).driver?.password : undefined;
    return new ZeebeBackupRun(job, {
      stores: this.stores,
      jobs: this.jobs,
      cluster:
        driver?.type === "zeebe"
          ? { apiUrl: driver.url, client: this.clientOf(driver.url, driver.username, password) }
          : undefined,
      pollIntervalMs: this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      backupTimeoutMs: this.options.backupTimeoutMs,
      adopted,
      signal,
    });
  }

  private clientOf(url: string, username: string | null, password: string | undefined) {
    return createZeebeBackupClient({
      baseUrl: url,
      // The management API is unauthenticated unless a proxy in front of it asks for Basic.
      ...(username !== null
        ? {
            headers: {
              authorization: `Basic ${Buffer.from(`${username}:${password ?? ""}`).toString("base64")}`,
            },
          }
        : {}),
      // Retries are the run's: it keeps the job's lease and hears a cancel meanwhile.
      retry: false,
      timeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
  }
}
