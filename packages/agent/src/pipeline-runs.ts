import type { LogLevel } from "./agent-logger";
import type { ConfigV2 } from "./config-watch";
import { takeBackup, type BackupDeployment, type ResultManifest } from "./pipelines/backup";
import { runWithHooks, type HookContext } from "./pipelines/hook-scripts";
import { restoreBackup } from "./pipelines/restore";
import type { BackupRef } from "./pipelines/stored-backup";
import { copyLocations, firstExistingCopy } from "./targets/backup-copies";
import { removeStoredBackup } from "./targets/file-target";

/**
 * A backup or a restore between its hook scripts, as both a claimed job (job-runner.ts) and a
 * one-off command (one-off-runs.ts) run it: one code path, so `backup-now` stores exactly what a
 * backup job would, and `restore` restores exactly as a restore job does.
 */

/** Where a run's phase changes and byte counts go: the job's progress reports, a display. */
export interface ProgressSink {
  update(phase: string, bytesDone?: number): Promise<void> | void;
}

/** The run's log (a JobLog under the job id, or under a one-off command's run id). */
export interface RunLog {
  line(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

export interface PipelineRun {
  /** The job id, or the run id of a one-off command: hook scripts see it as `STOWAGE_JOB`. */
  id: string;
  signal: AbortSignal;
  progress: ProgressSink;
  log: RunLog;
}

/** The deployment a job or a command names is not in this agent's config. */
export class UnknownDeploymentError extends Error {
  constructor(readonly deployment: string) {
    super(`deployment ${deployment} is not in this agent's config`);
    this.name = "UnknownDeploymentError";
  }
}

export function findDeployment(config: ConfigV2, name: string): BackupDeployment {
  const deployment = config.deployments.find((candidate) => candidate.name === name);
  if (!deployment) throw new UnknownDeploymentError(name);
  return deployment;
}

/** The job lease the config sets: also how old a `.partial-` temp file must be to count as stale. */
export function leaseMsOf(config: ConfigV2): number {
  return (config.jobs.lease_seconds ?? 90) * 1000;
}

export async function backupWithHooks(
  deployment: BackupDeployment,
  request: {
    backup: { id: string; sequence: number };
    targets?: string[];
    staleTempAfterMs?: number;
  },
  run: PipelineRun,
): Promise<ResultManifest> {
  return runWithHooks(
    "backup",
    hooksOf(deployment, run),
    async () => {
      await run.progress.update(deployment.kind === "sqlite" ? "snapshot" : "dump");
      return takeBackup({
        deployment,
        backup: request.backup,
        targets: request.targets,
        signal: run.signal,
        onBytes: (phase, bytes) => void run.progress.update(phase, bytes),
        onToolStderr: toolStderrOf(run),
        staleTempAfterMs: request.staleTempAfterMs,
        onStaleTempRemoved: (file) => run.log.line("info", "removed a stale temp file", { file }),
      });
    },
    // Every target got a copy, and the manifest names the first only.
    async (manifest) => {
      for (const location of copyLocations(deployment, manifest.location)) {
        await removeStoredBackup(location);
      }
    },
  );
}

export async function restoreWithHooks(
  deployment: BackupDeployment,
  request: { backup: BackupRef; destination: string; force: boolean },
  run: PipelineRun,
): Promise<ResultManifest> {
  // The first target's copy may be gone (a lost disk): another target's copy restores as well.
  const backup = {
    ...request.backup,
    location: await firstExistingCopy(deployment, request.backup.location),
  };
  const common = {
    backup,
    destination: request.destination,
    force: request.force,
    signal: run.signal,
    onToolStderr: toolStderrOf(run),
  };
  return runWithHooks(
    "restore",
    { ...hooksOf(deployment, run), backupLocation: backup.location },
    async () => {
      await run.progress.update("verify");
      switch (deployment.kind) {
        case "postgres":
          return restoreBackup({ ...common, kind: "postgres", connection: deployment.connection });
        case "mysql":
          return restoreBackup({ ...common, kind: "mysql", connection: deployment.connection });
        default:
          return restoreBackup({ ...common, kind: deployment.kind });
      }
    },
  );
}

function hooksOf(deployment: BackupDeployment, run: PipelineRun): HookContext {
  return {
    scripts: deployment.scripts,
    deployment: deployment.name,
    job: run.id,
    signal: run.signal,
    onPhase: (phase) => void run.progress.update(phase),
    onOutput: (phase, stream, line, script) =>
      run.log.line(stream === "stderr" ? "warn" : "info", line, { phase, stream, script }),
  };
}

/** pg_dump, psql and the MySQL tools write warnings and errors to stderr: the run's log keeps them. */
function toolStderrOf(run: PipelineRun): (phase: string, line: string) => void {
  return (phase, line) => run.log.line("warn", line, { phase });
}
