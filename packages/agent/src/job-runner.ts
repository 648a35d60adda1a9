import { setTimeout as delay } from "node:timers/promises";
import { StowageApiError, type AgentClient, type components } from "@stowage/agent-client";
import type { AgentLogger } from "./agent-logger";
import type { ConfigV2, ConfigWatch } from "./config-watch";
import { JobLog } from "./log-reporter";
import {
  backupWithHooks,
  findDeployment,
  leaseMsOf,
  restoreWithHooks,
  type ProgressSink,
} from "./pipeline-runs";
import type { BackupDeployment, ResultManifest } from "./pipelines/backup";
import { deleteBackupFiles } from "./pipelines/delete-backup-files";
import { matches } from "./pipelines/stored-backup";
import { verifyBackup } from "./pipelines/verify";
import { alsoDisplayed, type ProgressDisplay } from "./progress-display";
import { ProgressReporter } from "./progress-reporter";
import { firstExistingCopy } from "./targets/backup-copies";

type Job = components["schemas"]["Job"];

export interface JobRunnerDeps {
  client: AgentClient;
  instance: string;
  config: ConfigWatch;
  logger: AgentLogger;
  /** Shows each job's progress (stderr: a live line on a terminal, plain lines elsewhere). */
  display?: ProgressDisplay;
}

/** Raised inside a job when the controller answered a progress report with 409. */
class JobCancelledError extends Error {
  constructor(job: string) {
    super(`job ${job} was cancelled by the controller`);
    this.name = "JobCancelledError";
  }
}

/**
 * The agent's main loop: refresh the config (a 304 when unchanged), long-poll for a job, run it,
 * report it, repeat. The controller's scheduler turns this agent's schedules into jobs, so the
 * agent never runs schedules itself: doing both would back every deployment up twice.
 * Jobs run one at a time. `stop` ends the loop between jobs (it aborts a waiting claim; a job
 * already running is finished and reported first).
 */
export async function runJobLoop(deps: JobRunnerDeps, stop: AbortSignal): Promise<void> {
  const { config: first } = await deps.config.refresh(stop);
  deps.logger.log("info", "agent running", {
    instance: deps.instance,
    deployments: first.deployments.map((deployment) => deployment.name),
  });
  while (!stop.aborted) {
    let config: ConfigV2;
    let job: Job | undefined;
    try {
      ({ config } = await deps.config.refresh(stop));
      if (!config.jobs.enabled) {
        await pause((config.jobs.retry_interval_seconds ?? 15) * 1000, stop);
        continue;
      }
      job = await claimJob(deps, config.jobs.wait_seconds ?? 30, stop);
    } catch (error) {
      if (stop.aborted) break;
      // A revoked or unknown agent cannot fix itself by retrying: stop with the status's exit code.
      if (error instanceof StowageApiError && (error.status === 401 || error.status === 403)) {
        throw error;
      }
      deps.logger.log("warn", "claim failed; retrying", { error: String(error) });
      await pause(15_000, stop);
      continue;
    }
    if (job) await runJob(deps, job, config);
  }
  deps.logger.log("info", "agent stopped");
}

/** Every kind this agent runs; the controller hands out `delete` only to an agent that names it. */
const CLAIMED_KINDS: components["schemas"]["JobKind"][] = ["backup", "restore", "verify", "delete"];

async function claimJob(
  deps: JobRunnerDeps,
  waitSeconds: number,
  stop: AbortSignal,
): Promise<Job | undefined> {
  const { data, error, response } = await deps.client.POST("/engines/jobs/{instance}/claim", {
    params: { path: { instance: deps.instance }, query: { wait: waitSeconds } },
    body: { kinds: CLAIMED_KINDS },
    signal: stop,
  });
  if (response.status === 204) return undefined;
  if (!data) throw new StowageApiError(response.status, error, response, undefined);
  return data;
}

/** Runs one claimed job to a completion report (or to a clean stop when it was cancelled). */
export async function runJob(deps: JobRunnerDeps, job: Job, config: ConfigV2): Promise<void> {
  const abort = new AbortController();
  const log = new JobLog(deps.client, deps.instance, job.id, deps.logger);
  const leaseMs = leaseMsOf(config);
  const progress = new ProgressReporter(
    deps.client,
    deps.instance,
    job.id,
    deps.logger,
    () => abort.abort(new JobCancelledError(job.id)),
    Math.max(1000, Math.floor(leaseMs / 3)),
  );
  log.line("info", `${job.kind} job claimed`, { deployment: job.deployment, attempt: job.attempt });
  deps.display?.begin(`${job.kind} ${job.deployment}`);
  try {
    await progress.update("start");
    const shown = alsoDisplayed(progress, deps.display);
    const manifest = await performJob(deps, job, abort.signal, shown, log, leaseMs);
    await progress.stop();
    if (progress.cancelled) throw new JobCancelledError(job.id);
    deps.display?.end("done");
    log.line("info", `${job.kind} job succeeded`, {
      sha256: manifest.sha256,
      size_bytes: manifest.size_bytes,
      location: manifest.location,
    });
    // The log is whole before the job is: an operator following the job then reads all of it.
    await log.flush();
    await complete(deps, job, { outcome: "succeeded", manifest });
  } catch (error) {
    await progress.stop();
    deps.display?.end(progress.cancelled ? "cancelled" : "failed");
    const message = error instanceof Error ? error.message : String(error);
    if (progress.cancelled) {
      // Partial output is already gone (atomic writes); completing a cancelled job is a 409.
      log.line("warn", `${job.kind} job cancelled; stopped and cleaned up`);
      return;
    }
    log.line("error", `${job.kind} job failed: ${message}`, { phase: progress.phase });
    await log.flush();
    await complete(deps, job, {
      outcome: "failed",
      finished_at: new Date().toISOString(),
      phase: progress.phase,
      message,
      retryable: false,
    });
  } finally {
    await log.flush();
  }
}

async function performJob(
  deps: JobRunnerDeps,
  job: Job,
  signal: AbortSignal,
  progress: ProgressSink,
  log: JobLog,
  leaseMs: number,
): Promise<ResultManifest> {
  const run = { id: job.id, signal, progress, log };
  switch (job.kind) {
    case "backup": {
      const deployment = await deploymentOf(deps, job.deployment);
      return backupWithHooks(
        deployment,
        { backup: job.backup, targets: job.targets, staleTempAfterMs: leaseMs },
        run,
      );
    }
    case "restore": {
      const deployment = await deploymentOf(deps, job.deployment);
      return restoreWithHooks(
        deployment,
        { backup: job.backup, destination: job.destination, force: job.force ?? false },
        run,
      );
    }
    case "verify": {
      await progress.update("verify");
      const { config } = await deps.config.refresh();
      const deployment = config.deployments.find((candidate) => candidate.name === job.deployment);
      // As a restore reads it: the first copy that exists, in whichever target it is. A deployment
      // since removed from the config leaves the named copy to verify.
      const location = deployment
        ? await firstExistingCopy(deployment, job.backup.location)
        : job.backup.location;
      const manifest = await verifyBackup({ ...job.backup, location }, { signal });
      if (!matches(job.backup, { sha256: manifest.sha256, sizeBytes: manifest.size_bytes })) {
        // Reported as read: the controller compares it with its catalog and fails the job as
        // `verify.failed`.
        log.line("warn", "the stored backup does not match its manifest", {
          sha256: manifest.sha256,
          size_bytes: manifest.size_bytes,
          expected_sha256: job.backup.sha256,
          expected_size_bytes: job.backup.size_bytes,
        });
      }
      return manifest;
    }
    case "delete": {
      await progress.update("delete");
      return deleteBackupFiles(job.backup, await deploymentOf(deps, job.deployment), {
        onRemoved: (location, outcome) => log.line("info", `backup file ${outcome}`, { location }),
      });
    }
  }
}

/** The job's deployment from the current config: a job may name one added since the last refresh. */
async function deploymentOf(deps: JobRunnerDeps, name: string): Promise<BackupDeployment> {
  const { config } = await deps.config.refresh();
  return findDeployment(config, name);
}

/** Reports the end of a job; a refusal or a lost answer is logged, never thrown into the loop. */
async function complete(
  deps: JobRunnerDeps,
  job: Job,
  body: components["schemas"]["JobCompletion"],
): Promise<void> {
  try {
    const { response, error } = await deps.client.POST("/engines/jobs/{instance}/{job}/complete", {
      params: { path: { instance: deps.instance, job: job.id } },
      body,
    });
    if (!response.ok) {
      deps.logger.log("error", "completion refused", {
        job: job.id,
        status: response.status,
        error,
      });
    }
  } catch (error) {
    deps.logger.log("error", "could not report completion", { job: job.id, error: String(error) });
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
