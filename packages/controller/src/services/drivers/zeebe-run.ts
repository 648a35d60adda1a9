import { setTimeout as sleep } from "node:timers/promises";
import { ApiError } from "@stowage/server-runtime";
import type { ZeebeBackupClient } from "@stowage/zeebe-backup-client";
import type { JobRow } from "../../store/jobs-store";
import { BackupCatalog } from "../backup-catalog";
import type { Stores } from "../control-context";
import { duration } from "../doctor";
import { driverAgentId, type JobsService } from "../jobs-service";
import { partsOf, zeebeManifest, zeebeOutcome, type ZeebeBackupInfo } from "./zeebe-partitions";

/** The one phase of a Zeebe backup job: the brokers do the work, the controller watches. */
const BACKUP_PHASE = "backup";
export const ZEEBE_DRIVER = driverAgentId("zeebe");

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
  /**
   * The backup's time limit, counted from the job's first start (a restart does not reset it):
   * past it the job fails, whether Zeebe still reports the backup IN_PROGRESS or the gateway
   * cannot be reached. An outage shorter than that is waited out, since the brokers carry on
   * with the backup whether or not the gateway answers.
   */
  backupTimeoutMs: number;
  /** RUNNING under this driver when the controller stopped: its backup may be on the cluster. */
  adopted: boolean;
  /** The driver is stopping: leave the backup to Zeebe; the next start adopts it (409, GET). */
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
  private readonly deadline: number;
  private seq: number;
  private lastMessage: string | undefined;
  private unreachable: { since: number; problem: string } | undefined;
  private progress = "no partition reported yet";

  constructor(
    private readonly job: JobRow,
    private readonly options: ZeebeRunOptions,
  ) {
    this.catalog = new BackupCatalog(options.stores);
    // An adopted job's reports go on from the last one stored, or they would be taken for repeats.
    this.seq = job.progress_seq ?? 0;
    const startedAt = job.started_at === null ? Date.now() : Date.parse(job.started_at);
    this.deadline = startedAt + options.backupTimeoutMs;
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
      this.report(
        this.options.adopted
          ? `Resuming Zeebe backup ${backupId} after a controller restart.`
          : `Taking Zeebe backup ${backupId}.`,
      );
      // An adopted job goes through the POST too: its 409 confirms the backup was taken, and a
      // first attempt stopped before the POST reached the cluster takes it now, under the same id.
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
      await this.pause(backupId);
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
      await this.pause(backupId);
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
    this.progress = `${done} of ${total} partitions completed`;
    this.report(`${this.progress}.`, Math.floor((done / total) * 100));
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
   * and 504 are a broker out of reach), which `pause` waits out until the time limit.
   */
  private async remote<T extends { response: Response; error?: unknown }>(
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    let problem: string;
    try {
      const result = await call();
      if (result.response.status < 500) {
        this.unreachable = undefined;
        return result;
      }
      problem = `${result.response.status}: ${messageOf(result.error)}`;
    } catch (error) {
      if (this.options.signal.aborted) throw new RunStopped(false);
      problem = (error as Error).message;
    }
    if (this.unreachable === undefined) {
      this.report(
        `The Zeebe gateway cannot be reached (${problem}); retrying until the time limit at ${new Date(this.deadline).toISOString()}.`,
      );
    }
    this.unreachable = { since: this.unreachable?.since ?? Date.now(), problem };
    return undefined;
  }

  /** Waits for the next poll, the last one right at the deadline; past it, the job fails. */
  private async pause(backupId: number): Promise<void> {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new RunFailed(this.overdue(backupId));
    try {
      await sleep(Math.min(this.options.pollIntervalMs, left), undefined, {
        signal: this.options.signal,
      });
    } catch {
      throw new RunStopped(false);
    }
  }

  private overdue(backupId: number): string {
    const limit = duration(this.options.backupTimeoutMs);
    if (this.unreachable) {
      return `The Zeebe gateway has been unreachable since ${new Date(this.unreachable.since).toISOString()} (${this.unreachable.problem}) and the backup's time limit of ${limit} has passed.`;
    }
    return `Zeebe backup ${backupId} did not complete within its time limit of ${limit} (${this.progress}); the cluster keeps it, where Zeebe's own list shows it.`;
  }
}

export function messageOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    const { message } = error as { message: unknown };
    if (typeof message === "string" && message !== "") return message;
  }
  return "no message";
}
