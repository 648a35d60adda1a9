import { mkdtemp, stat } from "node:fs/promises";
import path from "node:path";
import type { components } from "@stowage/script-agent-server";
import { BACKUP_PHASES, phaseLogFields } from "./phases";
import { runScript } from "./run-script";

type Schemas = components["schemas"];
export type BackupRequest = Schemas["BackupRequest"];
export type BackupJob = Schemas["BackupJob"];

export interface BackupJobsOptions {
  /** Holds one executable per phase, named after it (`pre-backup-lock`, `backup`...). */
  scriptsDir: string;
  /** Where each job gets a directory for the file its `backup` script writes. */
  workDir: string;
  /** Jobs that may run at once (the agent's `max_job_number`). */
  maxJobs: number;
  /** How long a stopped script's process group has after SIGTERM before SIGKILL (default 10 s). */
  stopGraceMs?: number;
}

const DEFAULT_STOP_GRACE_MS = 10_000;

export type TriggerOutcome =
  { outcome: "started" } | { outcome: "exists"; job: BackupJob } | { outcome: "limit" };

interface Entry {
  job: BackupJob;
  /** Stops the running script when the record is deleted: nobody could poll its result any more. */
  abort: AbortController;
}

/**
 * The agent's backup jobs, in memory: each runs the phase scripts in order, stops at the first
 * that fails, and keeps its poll body until the record is deleted. Like the real agent, it stores
 * no upload of its own here: the scripts get the destination as `S3_*` or `SWIFT_*` variables.
 */
export class BackupJobs {
  private readonly entries = new Map<string, Entry>();
  /** Runs not yet over, deleted ones included: `close` waits for their scripts to stop. */
  private readonly runs = new Set<Promise<void>>();

  constructor(private readonly options: BackupJobsOptions) {}

  trigger(request: BackupRequest): TriggerOutcome {
    const existing = this.entries.get(request.id);
    if (existing) return { outcome: "exists", job: existing.job };
    if (this.running() >= this.options.maxJobs) return { outcome: "limit" };
    const entry: Entry = { job: initialJob(request), abort: new AbortController() };
    this.entries.set(request.id, entry);
    const run = this.run(entry, request).finally(() => this.runs.delete(run));
    this.runs.add(run);
    return { outcome: "started" };
  }

  get(id: string): BackupJob | undefined {
    return this.entries.get(id)?.job;
  }

  /** Forgets a job (and stops it if it still runs); false when there was none. */
  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.abort.abort();
    this.entries.delete(id);
    return true;
  }

  /** Stops every running script: the server is going away. Resolves once their groups are. */
  async close(): Promise<void> {
    for (const entry of this.entries.values()) entry.abort.abort();
    await Promise.all(this.runs);
  }

  private running(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.job.status === "RUNNING") count++;
    return count;
  }

  private async run(entry: Entry, request: BackupRequest): Promise<void> {
    const { job, abort } = entry;
    const started = Date.now();
    try {
      const dir = await mkdtemp(path.join(this.options.workDir, "job-"));
      const file = path.join(dir, job.filename ?? "backup.tar.gz");
      const env = scriptEnvironment(request, file);
      for (const phase of BACKUP_PHASES) {
        if (abort.signal.aborted) return;
        job.state = phase;
        job.message = `${phase} is running`;
        const outcome = await runScript(
          path.join(this.options.scriptsDir, phase),
          env,
          abort.signal,
          this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
        );
        const fields = phaseLogFields(phase);
        job[fields.log] = outcome.stdout;
        job[fields.errorlog] = outcome.stderr;
        if (outcome.error !== undefined) {
          this.finish(job, started, { status: "FAILED", error: outcome.error });
          return;
        }
        if (phase === "backup") job.filesize = await sizeOf(file);
      }
      this.finish(job, started, { status: "SUCCEEDED" });
    } catch (error) {
      this.finish(job, started, { status: "FAILED", error: (error as Error).message });
    }
  }

  private finish(
    job: BackupJob,
    started: number,
    end: { status: "SUCCEEDED" | "FAILED"; error?: string },
  ): void {
    job.status = end.status;
    job.state = "finished";
    job.message = end.status === "SUCCEEDED" ? "backup successfully carried out" : "backup failed";
    if (end.error !== undefined) job.error_message = end.error;
    if (end.status === "FAILED") job.filename = "";
    job.end_time = agentTimestamp(new Date());
    job.execution_time_ms = Date.now() - started;
  }
}

function initialJob(request: BackupRequest): BackupJob {
  const { destination, backup } = request;
  const now = new Date();
  const common = {
    status: "RUNNING" as const,
    message: "backup is running",
    state: "pre-backup-lock" as const,
    compression: request.compression ?? false,
    skip_storage: destination.skipStorage ?? false,
    filename: backupFilename(backup.host, backup.database, now),
    filesize: { size: 0, unit: "" },
    start_time: agentTimestamp(now),
    end_time: "",
    execution_time_ms: 0,
  };
  if (destination.type === "S3") {
    return {
      ...common,
      type: "S3",
      skipSSL: destination.skipSSL ?? false,
      bucket: destination.bucket,
      ...(destination.region !== undefined ? { region: destination.region } : {}),
      ...(destination.endpoint !== undefined ? { endpoint: destination.endpoint } : {}),
      filenamePrefix: destination.filenamePrefix ?? "",
    };
  }
  return {
    ...common,
    type: "SWIFT",
    authUrl: destination.authUrl,
    domain: destination.domain,
    container_name: destination.container_name,
    project_name: destination.project_name,
  };
}

/**
 * What every phase script sees: the database, the file to write, the key, the destination and
 * the request's `parameters`. Only `PATH` is inherited, so the agent's own environment (and any
 * secret in it) does not leak into scripts.
 */
function scriptEnvironment(request: BackupRequest, file: string): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const parameter of request.backup.parameters ?? []) {
    for (const [key, value] of Object.entries(parameter)) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) env[key] = String(value);
    }
  }
  const { destination, backup } = request;
  const destinationVars: Record<string, string | boolean | undefined> =
    destination.type === "S3"
      ? {
          S3_BUCKET: destination.bucket,
          S3_REGION: destination.region,
          S3_ENDPOINT: destination.endpoint,
          S3_KEY: destination.authKey,
          S3_SECRET: destination.authSecret,
          S3_PREFIX: destination.filenamePrefix,
          S3_SKIP_SSL: destination.skipSSL,
        }
      : {
          SWIFT_AUTH_URL: destination.authUrl,
          SWIFT_DOMAIN: destination.domain,
          SWIFT_CONTAINER: destination.container_name,
          SWIFT_PROJECT: destination.project_name,
          SWIFT_USERNAME: destination.username,
          SWIFT_PASSWORD: destination.password,
        };
  for (const [key, value] of Object.entries(destinationVars)) {
    if (value !== undefined) env[key] = String(value);
  }
  // Set last, so a parameter cannot redirect the file or swap the database.
  Object.assign(env, {
    BACKUP_HOST: backup.host,
    BACKUP_USERNAME: backup.username,
    BACKUP_PASSWORD: backup.password,
    BACKUP_DATABASE: backup.database,
    BACKUP_FILE: file,
    ENCRYPTION_KEY: request.encryption_key,
    COMPRESSION: String(request.compression ?? false),
  });
  return env;
}

async function sizeOf(file: string): Promise<BackupJob["filesize"]> {
  try {
    return { size: (await stat(file)).size, unit: "byte" };
  } catch {
    return { size: 0, unit: "" };
  }
}

/** The spec's `<host>_<YYYY>_<MM>_<DD>_<database>.tar.gz`, with path separators made harmless. */
function backupFilename(host: string, database: string, at: Date): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, "_");
  const [year, month, day] = at.toISOString().slice(0, 10).split("-");
  return `${safe(host)}_${year}_${month}_${day}_${safe(database)}.tar.gz`;
}

/** The agent's own `YYYY-MM-DDTHH:MM:SS+00:00` (the spec's `AgentTimestamp`). */
function agentTimestamp(at: Date): string {
  return `${at.toISOString().slice(0, 19)}+00:00`;
}
