import { setTimeout as sleep } from "node:timers/promises";
import { ApiError } from "@stowage/server-runtime";
import { retryAfterMs } from "@stowage/client-runtime";
import type { components, ScriptAgentClient } from "@stowage/script-agent-client";
import type { JobRow } from "../../store/jobs-store";
import type { TargetRow } from "../../store/targets-store";
import type { ResultManifest } from "../backup-catalog";
import type { Stores } from "../control-context";
import { settingsFromRow } from "../deployment-settings";
import { driverAgentId, type JobLogInput, type JobsService } from "../jobs-service";
import { DriverRefusal, scriptAgentBackup, type ScriptAgentBackup } from "./script-agent-request";

type BackupJob = components["schemas"]["BackupJob"];

/** The agent's scripts, in the order it runs them (the spec's `BackupState` without its ends). */
const BACKUP_PHASES = [
  "pre-backup-lock",
  "pre-backup-check",
  "backup",
  "backup-cleanup",
  "post-backup-unlock",
] as const;
type BackupPhase = (typeof BACKUP_PHASES)[number];

/** What a job shows while the agent is at its job limit (429), before its first script runs. */
const WAITING_PHASE = "waiting-for-agent";
/** The spec's 429 names no `Retry-After` value; the example agent asks for 5 s. */
const DEFAULT_RETRY_AFTER_MS = 5000;

const SCRIPT_AGENT_DRIVER = driverAgentId("script-agent");

export interface ScriptAgentRunOptions {
  stores: Stores;
  jobs: JobsService;
  client: ScriptAgentClient;
  /** How often the agent's job is polled (and the job's lease extended). */
  pollIntervalMs: number;
  /** How long the agent may stay unreachable before the job fails. */
  unreachableMs: number;
  /** The driver is stopping: leave the remote job running, a later claim adopts it (409). */
  signal: AbortSignal;
}

/** The run ends without completing the job: it was cancelled, lost, or the driver is stopping. */
class RunStopped extends Error {
  constructor(readonly forgetRemote: boolean) {
    super("run stopped");
  }
}

/** The run ends with the job FAILED for this reason. */
class RunFailed extends Error {
  constructor(
    message: string,
    readonly phase?: string,
  ) {
    super(message);
  }
}

/**
 * One backup job on a script agent: trigger it under the job's id, poll it to its end while
 * entering its phases and copying each phase's output into the job, complete the job, and delete
 * the agent's job record (nobody polls it after that).
 */
export class ScriptAgentBackupRun {
  private seq = 0;
  private reportedPhase: string | undefined;
  private readonly entered = new Set<string>();
  /** `<phase>/<stream>` copied into the job's logs: each phase's output arrives once, whole. */
  private readonly copied = new Set<string>();
  private unreachableSince: number | undefined;

  constructor(
    private readonly job: JobRow,
    private readonly options: ScriptAgentRunOptions,
  ) {}

  async run(): Promise<void> {
    let triggered = false;
    try {
      const backup = this.prepare();
      await this.trigger(backup);
      triggered = true;
      this.finish(backup.target, await this.pollToEnd());
      await this.forgetRemote();
    } catch (error) {
      if (error instanceof RunStopped) {
        if (error.forgetRemote && triggered) await this.forgetRemote();
        return;
      }
      const failure =
        error instanceof RunFailed || error instanceof DriverRefusal
          ? error
          : new RunFailed(`The script-agent driver failed: ${(error as Error).message}`);
      this.fail(failure.message, failure instanceof RunFailed ? failure.phase : undefined);
      if (triggered) await this.forgetRemote();
    }
  }

  private prepare(): ScriptAgentBackup {
    const { stores } = this.options;
    const job = this.job;
    const deployment = stores.deployments.byIdOrName(job.tenant_id, job.deployment_id);
    if (!deployment) throw new DriverRefusal("The job's deployment no longer exists.");
    const params = JSON.parse(job.params) as { target_ids?: string[] };
    const targets = (params.target_ids ?? settingsFromRow(deployment).target_ids)
      .map((id) => stores.targets.byId(id, job.tenant_id))
      .filter((target): target is TargetRow => target !== undefined);
    return scriptAgentBackup(job.id, deployment, targets);
  }

  /**
   * `POST /backup` until the agent takes it. 409 means a job of this id exists: the trigger of an
   * earlier attempt (before a restart), which is adopted and polled. 429 waits `Retry-After`.
   */
  private async trigger({ request }: ScriptAgentBackup): Promise<void> {
    for (;;) {
      const result = await this.remote(() =>
        this.options.client.POST("/backup", { body: request, signal: this.options.signal }),
      );
      if (!result) {
        await this.pause(this.options.pollIntervalMs);
        continue;
      }
      const { response, error } = result;
      if (response.status === 201 || response.status === 409) return;
      if (response.status === 429) {
        this.report(WAITING_PHASE, `The script agent is at its job limit: ${messageOf(error)}`);
        await this.pause(
          retryAfterMs(response.headers.get("retry-after")) ?? DEFAULT_RETRY_AFTER_MS,
        );
        continue;
      }
      throw new RunFailed(
        `The script agent refused the backup (${response.status}): ${messageOf(error)}`,
      );
    }
  }

  private async pollToEnd(): Promise<BackupJob> {
    for (;;) {
      const result = await this.remote(() =>
        this.options.client.GET("/backup/{id}", {
          params: { path: { id: this.job.id } },
          signal: this.options.signal,
        }),
      );
      if (result?.data) {
        this.observe(result.data);
        if (result.data.status !== "RUNNING") return result.data;
      } else if (result) {
        const status = result.response.status;
        throw new RunFailed(
          status === 404 || status === 410
            ? "The script agent no longer knows the backup job (it restarted or deleted the record)."
            : `The script agent answered the poll ${status}: ${messageOf(result.error)}`,
        );
      } else {
        // Unreachable: the controller still runs the job, so its lease is kept meanwhile.
        this.keepLease();
      }
      await this.pause(this.options.pollIntervalMs);
    }
  }

  /** Enters every phase the agent reached and copies the output of those that ended. */
  private observe(body: BackupJob): void {
    const reached = reachedPhases(body);
    const entering = reached.filter((phase) => !this.entered.has(phase));
    for (const phase of entering) this.report(phase);
    if (entering.length === 0) this.keepLease();
    const lines: JobLogInput[] = [];
    const at = new Date().toISOString();
    for (const phase of reached) {
      if (body.status === "RUNNING" && phase === body.state) continue;
      const output = phaseOutput(body, phase);
      for (const stream of ["stdout", "stderr"] as const) {
        const text = output[stream];
        if (text === undefined || this.copied.has(`${phase}/${stream}`)) continue;
        this.copied.add(`${phase}/${stream}`);
        for (const message of text.split("\n").filter((line) => line !== "")) {
          lines.push({
            timestamp: at,
            level: stream === "stderr" ? "warn" : "info",
            fields: { phase, stream },
            message,
          });
        }
      }
    }
    if (lines.length > 0)
      this.guard(() => this.options.jobs.appendJobLogs(SCRIPT_AGENT_DRIVER, this.job.id, lines));
  }

  private finish(target: ScriptAgentBackup["target"], body: BackupJob): void {
    if (body.status === "FAILED") {
      const reached = reachedPhases(body);
      const phase = isBackupPhase(body.state) ? body.state : reached[reached.length - 1];
      const reason = body.error_message || body.message;
      throw new RunFailed(phase ? `${phase} failed: ${reason}` : reason, phase);
    }
    const deployment = this.options.stores.deployments.byIdOrName(
      this.job.tenant_id,
      this.job.deployment_id,
    );
    const settings = deployment ? settingsFromRow(deployment) : undefined;
    const now = new Date().toISOString();
    const manifest: ResultManifest = {
      size_bytes: bytesOf(body.filesize),
      // The poll body carries no checksum; completeJob stores a driver's empty one as null.
      sha256: "",
      location: `${target.url.replace(/\/+$/, "")}/${body.filename ?? ""}`,
      target: target.id,
      ...(settings ? { compression: settings.compression } : {}),
      ...(settings?.encryption ? { encryption: settings.encryption } : {}),
      started_at: agentTime(body.start_time) ?? this.job.started_at ?? now,
      finished_at: agentTime(body.end_time) ?? now,
      timings: [],
    };
    this.guard(() =>
      this.options.jobs.completeJob(SCRIPT_AGENT_DRIVER, this.job.id, {
        outcome: "succeeded",
        manifest,
      }),
    );
  }

  private fail(message: string, phase: string | undefined): void {
    try {
      this.options.jobs.completeJob(SCRIPT_AGENT_DRIVER, this.job.id, {
        outcome: "failed",
        finished_at: new Date().toISOString(),
        message,
        ...(phase !== undefined ? { phase } : {}),
      });
    } catch (error) {
      // Cancelled or lost meanwhile: the job already ended the way its 409 says.
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  }

  /** `DELETE /backup`: the record only (it stops a script still running). 410 is fine too. */
  private async forgetRemote(): Promise<void> {
    try {
      await this.options.client.DELETE("/backup", { body: { id: this.job.id } });
    } catch {
      // Unreachable: the record stays on the agent until it restarts; nothing here depends on it.
    }
  }

  /** A progress report: a new phase gets the next seq; the same phase repeats it (lease only). */
  private report(phase: string, message?: string): void {
    if (phase !== this.reportedPhase) {
      this.seq += 1;
      this.reportedPhase = phase;
      if (isBackupPhase(phase)) this.entered.add(phase);
    }
    const report = { seq: this.seq, phase, ...(message !== undefined ? { message } : {}) };
    this.guard(() => this.options.jobs.reportProgress(SCRIPT_AGENT_DRIVER, this.job.id, report));
  }

  private keepLease(): void {
    if (this.reportedPhase !== undefined) this.report(this.reportedPhase);
  }

  /**
   * A job call answered 409: the job was cancelled, ended, or requeued after a lost lease. The
   * agent's record is forgotten (which stops its script) unless the job awaits another attempt,
   * which adopts the record.
   */
  private guard<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      const job = this.options.stores.jobs.byIdInAnyTenant(this.job.id);
      throw new RunStopped(job?.status !== "QUEUED" && job?.status !== "RUNNING");
    }
  }

  /** A call to the agent; `undefined` when it could not be reached (for up to `unreachableMs`). */
  private async remote<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await call();
      this.unreachableSince = undefined;
      return result;
    } catch (error) {
      if (this.options.signal.aborted) throw new RunStopped(false);
      const since = (this.unreachableSince ??= Date.now());
      if (Date.now() - since >= this.options.unreachableMs) {
        throw new RunFailed(
          `The script agent was unreachable for ${Math.round((Date.now() - since) / 1000)} s: ${(error as Error).message}`,
          this.reportedPhase,
        );
      }
      return undefined;
    }
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.options.signal });
    } catch {
      throw new RunStopped(false);
    }
  }
}

function isBackupPhase(state: string | undefined): state is BackupPhase {
  return (BACKUP_PHASES as readonly string[]).includes(state ?? "");
}

/** The phases the agent ran or runs: up to the current one, or those that left output. */
function reachedPhases(body: BackupJob): BackupPhase[] {
  const current = isBackupPhase(body.state) ? BACKUP_PHASES.indexOf(body.state) : -1;
  return BACKUP_PHASES.filter((phase, index) => {
    const output = phaseOutput(body, phase);
    return index <= current || output.stdout !== undefined || output.stderr !== undefined;
  });
}

function phaseOutput(body: BackupJob, phase: BackupPhase): { stdout?: string; stderr?: string } {
  const stem = phase.replaceAll("-", "_");
  const fields: Readonly<Record<string, unknown>> = body;
  const text = (name: string) => {
    const value = fields[name];
    return typeof value === "string" ? value : undefined;
  };
  return { stdout: text(`${stem}_log`), stderr: text(`${stem}_errorlog`) };
}

const UNIT_BYTES: Record<string, number> = {
  "": 1,
  byte: 1,
  bytes: 1,
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
};

function bytesOf(size: BackupJob["filesize"]): number {
  return size ? Math.round(size.size * (UNIT_BYTES[size.unit] ?? 1)) : 0;
}

/** The agent's `YYYY-MM-DDTHH:MM:SS+00:00`, as ISO; `undefined` while empty. */
function agentTime(value: string | undefined): string | undefined {
  const ms = value ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function messageOf(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const body: Readonly<Record<string, unknown>> = error as Record<string, unknown>;
    const text = body.error_message ?? body.message;
    if (typeof text === "string" && text !== "") return text;
  }
  return "no message";
}
