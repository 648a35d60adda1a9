import { setTimeout as sleep } from "node:timers/promises";
import { ApiError } from "@stowage/server-runtime";
import type { ZeebeBackupClient } from "@stowage/zeebe-backup-client";
import type { JobRow } from "../../store/jobs-store";
import { BackupCatalog } from "../backup-catalog";
import type { Stores } from "../control-context";
import { driverAgentId, type JobsService } from "../jobs-service";
import { partsOf, zeebeManifest, zeebeOutcome, type ZeebeBackupInfo } from "./zeebe-partitions";

/** The one phase of a Zeebe backup job: the brokers do the work, the controller watches. */
const BACKUP_PHASE = "backup";
const ZEEBE_DRIVER = driverAgentId("zeebe");

export interface ZeebeRunOptions {
  stores: Stores;
  jobs: JobsService;
  /**
   * The deployment's management API: its base URL (`.../actuator/backups`, which the backup's
   * location names) and a client of it. `undefined` when the deployment is gone or no longer
   * drives Zeebe: the job fails.
   */
  cluster: { apiUrl: string; client: ZeebeBackupClient } | undefined;
  /** How often the backup's status is polled (and the job's lease extended). */
  pollIntervalMs: number;
  /** How long the gateway may stay unreachable (or answer 5xx) before the job fails. */
  unreachableMs: number;
  /** The driver is stopping: leave the backup to Zeebe; a later claim adopts it (409, then GET). */
  signal: AbortSignal;
}

/** The run ends without completing the job: it was cancelled, lost, or the driver is stopping. */
class RunStopped extends Error {
  constructor(readonly cancelled: boolean) {
    super("run stopped");
  }
}

/** The run ends with the job FAILED for this reason. */
class RunFailed extends Error {}

/**
 * One backup job on a Zeebe cluster. The Zeebe backup id is the backup's catalog `sequence`:
 * both must grow with every backup and are never reused (DESIGN 4, "the Zeebe rule"), so the
 * catalog never hands the cluster an id it already took. The run takes the backup, polls it
 * until every partition is COMPLETED or one FAILED, mirrors the partitions into the catalog as
 * parts on every poll, and completes the job.
 */
export class ZeebeBackupRun {
  private readonly catalog: BackupCatalog;
  private seq = 0;
  private lastMessage: string | undefined;
  private unreachableSince: number | undefined;

  constructor(
    private readonly job: JobRow,
    private readonly options: ZeebeRunOptions,
  ) {
    this.catalog = new BackupCatalog(options.stores);
  }

  private get cluster(): NonNullable<ZeebeRunOptions["cluster"]> {
    if (!this.options.cluster)
      throw new RunFailed("The job's deployment is gone or no longer drives a Zeebe cluster.");
    return this.options.cluster;
  }

  async run(): Promise<void> {
    let triggered = false;
    const backupId = this.job.sequence;
    try {
      if (backupId === null) throw new RunFailed("The backup job carries no sequence.");
      this.report(`Taking Zeebe backup ${backupId}.`);
      await this.trigger(backupId);
      triggered = true;
      const info = await this.pollToEnd(backupId);
      const outcome = zeebeOutcome(info);
      if (outcome.state === "failed") throw new RunFailed(outcome.reason);
      this.complete(info);
    } catch (error) {
      if (error instanceof RunStopped) {
        // Zeebe cannot stop a running backup; deleting it keeps a cancelled one out of its store.
        if (error.cancelled && triggered && backupId !== null) await this.deleteRemote(backupId);
        return;
      }
      // A request the stop aborted: the job stays RUNNING and a later claim adopts the backup.
      if (this.options.signal.aborted) return;
      this.fail(
        error instanceof RunFailed
          ? error.message
          : `The Zeebe driver failed: ${(error as Error).message}`,
      );
    }
  }

  /**
   * `POST /` with the id. 409 is an id not higher than the cluster's last: this job's own
   * backup when an earlier attempt took it before a restart (adopted), else a newer backup that
   * someone took on the cluster directly, which the catalog's sequence has to move past.
   */
  private async trigger(backupId: number): Promise<void> {
    for (;;) {
      const result = await this.remote(() =>
        this.cluster.client.POST("/", { body: { backupId }, signal: this.options.signal }),
      );
      if (result?.response.status === 202) return;
      if (result?.response.status === 409) {
        const existing = await this.remote(() => this.status(backupId));
        if (existing?.response.status === 200) return;
        if (existing) {
          throw new RunFailed(
            `Zeebe refused backup id ${backupId} (409: ${messageOf(result.error)}); take the next backup with a sequence above the cluster's newest backup id.`,
          );
        }
      } else if (result) {
        throw new RunFailed(
          `Zeebe refused the backup (${result.response.status}): ${messageOf(result.error)}`,
        );
      }
      this.keepLease();
      await this.pause();
    }
  }

  private status(backupId: number) {
    return this.cluster.client.GET("/{backupId}", {
      params: { path: { backupId } },
      signal: this.options.signal,
    });
  }

  private async pollToEnd(backupId: number): Promise<ZeebeBackupInfo> {
    for (;;) {
      const result = await this.remote(() => this.status(backupId));
      if (result?.data) {
        this.observe(result.data);
        if (zeebeOutcome(result.data).state !== "running") return result.data;
      } else if (result) {
        throw new RunFailed(
          result.response.status === 404
            ? `Zeebe no longer knows backup ${backupId} (deleted on the cluster).`
            : `Zeebe answered the poll ${result.response.status}: ${messageOf(result.error)}`,
        );
      } else {
        this.keepLease();
      }
      await this.pause();
    }
  }

  /** A progress report when a partition completed; the partitions into the catalog each time. */
  private observe(info: ZeebeBackupInfo): void {
    const total = info.details.length;
    const done = info.details.filter((partition) => partition.state === "COMPLETED").length;
    if (total === 0) {
      this.keepLease();
      return;
    }
    this.report(`${done} of ${total} partitions completed.`, Math.floor((done / total) * 100));
    // Right after the report that proved the job still ours: nothing runs in between.
    this.options.stores.db.transaction(() =>
      this.catalog.partsReported(this.job, partsOf(info), new Date().toISOString()),
    )();
  }

  private complete(info: ZeebeBackupInfo): void {
    const manifest = zeebeManifest(
      this.cluster.apiUrl,
      info,
      this.job.started_at ?? new Date().toISOString(),
    );
    this.guard(() =>
      this.options.jobs.completeJob(ZEEBE_DRIVER, this.job.id, { outcome: "succeeded", manifest }),
    );
  }

  private fail(message: string): void {
    try {
      this.options.jobs.completeJob(ZEEBE_DRIVER, this.job.id, {
        outcome: "failed",
        finished_at: new Date().toISOString(),
        phase: BACKUP_PHASE,
        message,
      });
    } catch (error) {
      // Cancelled or lost meanwhile: the job already ended the way its 409 says.
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  }

  private async deleteRemote(backupId: number): Promise<void> {
    try {
      await this.cluster.client.DELETE("/{backupId}", { params: { path: { backupId } } });
    } catch {
      // Unreachable: the backup stays in the cluster's store, where Zeebe's own list shows it.
    }
  }

  /** A new message gets the next seq (an event); the same one repeats it (lease only). */
  private report(message: string, percent?: number): void {
    const fresh = message !== this.lastMessage;
    if (fresh) {
      this.seq += 1;
      this.lastMessage = message;
    }
    const report = {
      seq: this.seq,
      phase: BACKUP_PHASE,
      ...(fresh ? { message } : {}),
      ...(fresh && percent !== undefined ? { percent } : {}),
    };
    this.guard(() => this.options.jobs.reportProgress(ZEEBE_DRIVER, this.job.id, report));
  }

  private keepLease(): void {
    if (this.lastMessage !== undefined) this.report(this.lastMessage);
  }

  /** A job call answered 409: cancelled, ended, or requeued after a lost lease. */
  private guard<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      const job = this.options.stores.jobs.byIdInAnyTenant(this.job.id);
      throw new RunStopped(job?.status === "CANCELLED");
    }
  }

  /**
   * A call to the gateway; `undefined` while it cannot be reached or answers 5xx (Zeebe's 502
   * and 504 are a broker out of reach), for up to `unreachableMs`.
   */
  private async remote<T extends { response: Response; error?: unknown }>(
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    let problem: string;
    try {
      const result = await call();
      if (result.response.status < 500) {
        this.unreachableSince = undefined;
        return result;
      }
      problem = `${result.response.status}: ${messageOf(result.error)}`;
    } catch (error) {
      if (this.options.signal.aborted) throw new RunStopped(false);
      problem = (error as Error).message;
    }
    const since = (this.unreachableSince ??= Date.now());
    if (Date.now() - since >= this.options.unreachableMs) {
      throw new RunFailed(
        `The Zeebe gateway was unreachable for ${Math.round((Date.now() - since) / 1000)} s: ${problem}`,
      );
    }
    return undefined;
  }

  private async pause(): Promise<void> {
    try {
      await sleep(this.options.pollIntervalMs, undefined, { signal: this.options.signal });
    } catch {
      throw new RunStopped(false);
    }
  }
}

export function messageOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    const { message } = error as { message: unknown };
    if (typeof message === "string" && message !== "") return message;
  }
  return "no message";
}
