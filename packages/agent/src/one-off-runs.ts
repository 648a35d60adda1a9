import { randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AgentClient } from "@stowage/agent-client";
import { connectAgent } from "./agent-connection";
import type { AgentLogger } from "./agent-logger";
import { loadAgentState } from "./agent-state";
import { ConfigWatch, type ConfigV2 } from "./config-watch";
import { exitCodeFor } from "./exit-codes";
import { JobLog } from "./log-reporter";
import {
  backupWithHooks,
  findDeployment,
  leaseMsOf,
  restoreWithHooks,
  UnknownDeploymentError,
  type PipelineRun,
} from "./pipeline-runs";
import type { BackupDeployment, ResultManifest } from "./pipelines/backup";
import {
  ChecksumMismatchError,
  checkStoredBackup,
  type BackupRef,
} from "./pipelines/stored-backup";
import { formatBytes, type ProgressDisplay } from "./progress-display";
import { RunEvents } from "./run-events";

/**
 * The exit codes of DESIGN's table (exit-codes.ts maps HTTP statuses onto it) that the one-off
 * commands' own refusals use, each as the HTTP answer it stands for would exit.
 */
export const EXIT = {
  /** The backup or restore itself failed. */
  failed: 1,
  /** Bad arguments (as a 400). */
  usage: 2,
  /** A precondition does not hold: not enrolled, in place without --force (as a 412). */
  precondition: 4,
  /** No such deployment in the agent's config, no file at --from (as a 404). */
  notFound: 6,
  /** The stored file does not match --sha256 (as a 422 `verify.failed`). */
  verificationFailed: 9,
  /** SIGINT or SIGTERM stopped the command (128 + SIGINT). */
  interrupted: 130,
} as const;

/** A one-off command ended without doing its work: a one-line message and an exit code. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

/** The exit code of a failed command: its own, else by DESIGN's table (exitCodeFor). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommandError) return error.exitCode;
  if (error instanceof UnknownDeploymentError) return EXIT.notFound;
  return exitCodeFor(error);
}

export interface OneOffIo {
  stateFile: string;
  /** Local log lines (JSON on stdout, as `run` writes them); the run's log also goes to the controller. */
  logger: AgentLogger;
  display: ProgressDisplay;
  /** Aborted by SIGINT/SIGTERM: the work stops and cleans up (atomic writes leave nothing). */
  signal: AbortSignal;
}

/**
 * `stowage-agent backup-now <deployment>`: the backup a backup job would take, hooks included,
 * reported to the controller as a run without a job so the catalog lists it (trigger `agent`).
 * The controller reserves the catalog's sequence when it places the run, after the file is named,
 * so the file carries sequence 000000 and the run id instead: `<deployment>-000000-<run>...`.
 */
export async function backupNow(name: string, io: OneOffIo): Promise<ResultManifest> {
  const agent = await connect(io, name);
  const run = new OneOffRun(agent, io);
  const events = run.events("backup");
  // Before any work: a run the controller refuses to place is not taken at all.
  await events?.started(name, "backup");
  io.display.begin(`backup ${name}`);
  run.log.line("info", "backup started", { deployment: name });
  let manifest: ResultManifest;
  try {
    manifest = await backupWithHooks(
      agent.deployment,
      {
        backup: { id: run.id, sequence: 0 },
        staleTempAfterMs: leaseMsOf(agent.config),
      },
      run.pipeline,
    );
  } catch (error) {
    await run.failed("backup", events, error);
    throw io.signal.aborted
      ? new CommandError(`backup of ${name} interrupted; nothing was stored`, EXIT.interrupted)
      : new CommandError(`backup of ${name} failed: ${messageOf(error)}`, EXIT.failed);
  }
  run.log.line("info", "backup succeeded", {
    sha256: manifest.sha256,
    size_bytes: manifest.size_bytes,
    location: manifest.location,
  });
  await run.log.flush();
  try {
    await events?.succeeded(manifest);
  } catch (error) {
    io.display.end("failed", "not recorded by the controller");
    throw new CommandError(
      `backup stored at ${manifest.location} (sha256 ${manifest.sha256}), but the controller ` +
        `did not record it: ${messageOf(error)}`,
      exitCodeFor(error),
    );
  }
  io.display.end("done", `${formatBytes(manifest.size_bytes)} stored at ${manifest.location}`);
  return manifest;
}

export interface RestoreOptions {
  /** The backup's location: a `file://` URL, or a path. */
  from: string;
  sha256: string;
  /** sqlite: the database file; files: the directory to extract into. */
  to?: string;
  /** postgres, mysql: a database name (on the deployment's server) or URL. */
  database?: string;
  force?: boolean;
  /** The key of an encrypted (`.enc`) file, when not the deployment's current `key_ref`. */
  keyRef?: string;
}

/**
 * `stowage-agent restore <deployment> --from L --sha256 H`: one stored backup restored without a
 * controller job, exactly as a restore job restores it (hooks, the destination's rules, `force`).
 * The file is read whole and checked against `--sha256` before anything is written (before the
 * pre-restore scripts too, which may stop a service): a wrong digest exits 9 and writes nothing.
 * The run is reported to the controller (run events with `operation: restore`, its log under the
 * run id) so the agent's history holds it; a report that fails is logged and never fails or
 * blocks the restore, which is often done while things are broken.
 */
export async function restoreOnce(
  name: string,
  options: RestoreOptions,
  io: OneOffIo,
): Promise<ResultManifest> {
  const sha256 = options.sha256.toLowerCase();
  if (!/^[a-f0-9]{64}$/.test(sha256)) {
    throw new CommandError(`--sha256 must be 64 hex digits, not ${options.sha256}`, EXIT.usage);
  }
  const location = locationOfArgument(options.from);
  if (options.to !== undefined && options.database !== undefined) {
    throw new CommandError("give --to or --database, not both", EXIT.usage);
  }
  const agent = await connect(io, name);
  const destination = destinationOf(agent.deployment, options);
  const file = fileURLToPath(location);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new CommandError(`no stored backup at ${file}`, EXIT.notFound);
  const backup: BackupRef = {
    id: path.basename(file),
    sequence: 0,
    location,
    sha256,
    // The digest is the check: the size is what is there (a different file differs in sha256).
    size_bytes: info.size,
    ...formatOfFile(file, agent.deployment, options.keyRef),
  };

  const run = new OneOffRun(agent, io);
  const events = run.events("restore");
  await events?.started(name, "restore").catch((error) => run.reportFailed(error));
  io.display.begin(`restore ${name}`);
  run.log.line("info", "restore started", { deployment: name, location, destination });
  let manifest: ResultManifest;
  try {
    if ((agent.deployment.scripts?.pre_restore ?? []).length > 0) {
      // restoreBackup checks too, but after the pre-restore scripts have run.
      await run.pipeline.progress.update("verify");
      await checkStoredBackup(backup, { signal: io.signal });
    }
    manifest = await restoreWithHooks(
      agent.deployment,
      { backup, destination, force: options.force === true },
      run.pipeline,
    );
  } catch (error) {
    await run.failed("restore", events, error);
    if (error instanceof ChecksumMismatchError) {
      throw new CommandError(
        `restore refused: the sha256 of ${file} is not ${sha256}; nothing was written`,
        EXIT.verificationFailed,
      );
    }
    throw io.signal.aborted
      ? new CommandError(`restore of ${name} interrupted`, EXIT.interrupted)
      : new CommandError(`restore of ${name} failed: ${messageOf(error)}`, EXIT.failed);
  }
  run.log.line("info", "restore succeeded", {
    sha256: manifest.sha256,
    size_bytes: manifest.size_bytes,
    location,
    destination,
  });
  await run.log.flush();
  await events?.succeeded(manifest).catch((error) => run.reportFailed(error));
  io.display.end("done", `restored into ${destination}`);
  return manifest;
}

interface ConnectedAgent {
  client: AgentClient;
  instance: string;
  config: ConfigV2;
  deployment: BackupDeployment;
  logger: AgentLogger;
}

/** The enrolled identity (not enrolled: exit 4), its current v2 config, and the named deployment. */
async function connect(io: OneOffIo, name: string): Promise<ConnectedAgent> {
  const state = await loadAgentState(io.stateFile);
  const client = connectAgent(state);
  const { config } = await new ConfigWatch(client, state.instance).refresh(io.signal);
  const deployment = findDeployment(config, name);
  return { client, instance: state.instance, config, deployment, logger: io.logger };
}

/** One run of a one-off command: its id, its log under that id, its phase and display. */
class OneOffRun {
  readonly id = randomUUID();
  readonly startedAt = new Date();
  readonly log: JobLog;
  readonly pipeline: PipelineRun;
  private phase: string | undefined;

  constructor(
    private readonly agent: ConnectedAgent,
    private readonly io: OneOffIo,
  ) {
    this.log = new JobLog(agent.client, agent.instance, this.id, agent.logger);
    this.pipeline = {
      id: this.id,
      signal: io.signal,
      log: this.log,
      progress: {
        update: (phase, bytes) => {
          this.phase = phase;
          io.display.update(phase, bytes);
        },
      },
    };
  }

  /** The run's events, unless the config turned event reporting off. */
  events(operation: string): RunEvents | undefined {
    if (this.agent.config.telemetry?.events === false) {
      this.log.line("warn", `telemetry.events is off: this ${operation} is not reported`);
      return undefined;
    }
    return new RunEvents(this.agent.client, this.agent.instance, this.id);
  }

  /** Ends the display, logs the failure and reports it; a report that fails is only logged. */
  async failed(operation: string, events: RunEvents | undefined, error: unknown): Promise<void> {
    const message = messageOf(error);
    this.io.display.end(this.io.signal.aborted ? "interrupted" : "failed");
    this.log.line("error", `${operation} failed: ${message}`, { phase: this.phase });
    await this.log.flush();
    await events
      ?.failed(message, this.startedAt, this.phase)
      .catch((reportError) => this.reportFailed(reportError));
  }

  reportFailed(error: unknown): void {
    this.agent.logger.log("warn", "could not report the run to the controller", {
      run: this.id,
      error: messageOf(error),
    });
  }
}

/** `--from`: a `file://` URL as the catalog lists it, or a path. Other schemes need their target. */
function locationOfArgument(from: string): string {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(from)) return pathToFileURL(path.resolve(from)).href;
  if (!from.startsWith("file:")) {
    throw new CommandError(
      `cannot read ${from}: this agent reads file:// locations only`,
      EXIT.usage,
    );
  }
  return from;
}

/**
 * Where the restore writes, as a restore job's `destination`: `--to` (sqlite, files) or
 * `--database` (postgres, mysql); without either, in place, as the controller's restore without a
 * target is (the deployment's file, `/` for files, its database), which needs `--force`.
 */
function destinationOf(deployment: BackupDeployment, options: RestoreOptions): string {
  const database = deployment.kind === "postgres" || deployment.kind === "mysql";
  if (database && options.to !== undefined) {
    throw new CommandError(
      `${deployment.name} is a ${deployment.kind} deployment: name the database with --database`,
      EXIT.usage,
    );
  }
  if (!database && options.database !== undefined) {
    throw new CommandError(
      `${deployment.name} is a ${deployment.kind} deployment: name the ${deployment.kind === "sqlite" ? "file" : "directory"} with --to`,
      EXIT.usage,
    );
  }
  if (options.to !== undefined) return path.resolve(options.to);
  if (options.database !== undefined) return options.database;
  let inPlace: string;
  switch (deployment.kind) {
    case "sqlite":
      inPlace = deployment.connection.path;
      break;
    case "files":
      inPlace = "/";
      break;
    default: {
      const include = deployment.connection.databases?.include ?? [];
      if (include.length !== 1) {
        throw new CommandError(
          `${deployment.name} names no single database to restore in place: pass --database`,
          EXIT.usage,
        );
      }
      inPlace = include[0];
    }
  }
  if (!options.force) {
    throw new CommandError(
      `restoring in place overwrites ${deployment.name}'s data (${inPlace}): ` +
        `pass --${database ? "database" : "to"} to restore elsewhere, or --force`,
      EXIT.precondition,
    );
  }
  return inPlace;
}

/**
 * How the file is encoded, from the suffix the agent gave it (`.gz`, `.enc`: artifact-format.ts);
 * an encrypted file's key is `--key-ref`, else the deployment's current `key_ref`.
 */
function formatOfFile(
  file: string,
  deployment: BackupDeployment,
  keyRef: string | undefined,
): Pick<BackupRef, "compression" | "encryption"> {
  const encrypted = file.endsWith(".enc");
  const compression = file.replace(/\.enc$/, "").endsWith(".gz") ? "gzip" : "none";
  if (!encrypted) {
    if (keyRef !== undefined) {
      throw new CommandError(
        `${file} is not encrypted (no .enc suffix): drop --key-ref`,
        EXIT.usage,
      );
    }
    return { compression };
  }
  const key = keyRef ?? deployment.encryption?.key_ref;
  if (key === undefined) {
    throw new CommandError(
      `${file} is encrypted and ${deployment.name} has no encryption key_ref: pass --key-ref`,
      EXIT.usage,
    );
  }
  return { compression, encryption: { algorithm: "aes-256-gcm", key_ref: key } };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
