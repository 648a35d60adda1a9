import { createZeebeBackupClient } from "@stowage/zeebe-backup-client";
import type { Logger } from "../../observability/logger";
import type { JobRow } from "../../store/jobs-store";
import type { Stores } from "../control-context";
import { secretsFromRow, settingsFromRow } from "../deployment-settings";
import type { JobsService } from "../jobs-service";
import { DriverClaims } from "./driver-claims";
import { ZeebeBackupRun } from "./zeebe-run";

export interface ZeebeDriverOptions {
  logger: Logger;
  /**
   * How often a running backup's status is polled. A Zeebe backup takes a snapshot of each
   * partition, seconds to minutes; each poll also extends the job's lease.
   */
  pollIntervalMs?: number;
  /** How long the gateway may stay unreachable before the job fails; default half the lease. */
  unreachableMs?: number;
  /** Per request to the gateway. */
  requestTimeoutMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 2000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Runs the backup jobs of `zeebe` deployments on their clusters' backup management API
 * (`compat/zeebe-backup.yaml`), claimed under the driver id `driver:zeebe`.
 */
export class ZeebeDriver {
  private readonly claims: DriverClaims;

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
    private readonly options: ZeebeDriverOptions,
  ) {
    this.claims = new DriverClaims(
      stores,
      jobs,
      "zeebe",
      (job, signal) => this.runJob(job, signal),
      options.logger,
    );
  }

  start(): void {
    this.claims.start();
  }

  /** Stops claiming; the clusters' backups go on, and a later claim of their jobs adopts them. */
  stop(): Promise<void> {
    return this.claims.stop();
  }

  private runJob(job: JobRow, signal: AbortSignal): Promise<void> {
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
      unreachableMs: this.options.unreachableMs ?? Math.floor(this.jobs.settings.leaseMs / 2),
      signal,
    }).run();
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
