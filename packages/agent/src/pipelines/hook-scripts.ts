import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { components } from "@stowage/agent-client";
import type { ResultManifest } from "./backup";
import { PhaseClock } from "./phase-clock";

type Scripts = components["schemas"]["Scripts"];
export type HookPhase = "pre-backup" | "post-backup" | "pre-restore" | "post-restore";
export type HookStream = "stdout" | "stderr";

/** The spec's default for `scripts.timeout_seconds`. */
const DEFAULT_TIMEOUT_SECONDS = 300;

/** A hook script exited unsuccessfully, timed out or could not be started. */
export class HookScriptError extends Error {
  constructor(phase: HookPhase, script: string, status: string) {
    super(`${phase} script ${script} ${status}`);
    this.name = "HookScriptError";
  }
}

export interface HookContext {
  /** The deployment's `scripts` from the agent's config. */
  scripts: Scripts | undefined;
  deployment: string;
  job: string;
  /** The backup a restore reads, for its pre scripts (a backup's file exists only after `work`). */
  backupLocation?: string;
  signal?: AbortSignal;
  /** Called as a hook phase starts, for progress reports (and so a failure names that phase). */
  onPhase?: (phase: HookPhase) => void;
  /** Each line a script writes, for the job's log. */
  onOutput: (phase: HookPhase, stream: HookStream, line: string, script: string) => void;
}

/**
 * Runs a backup or restore between its `pre_*` and `post_*` scripts and answers its manifest
 * with the hook phases in `timings` (and in `started_at`/`finished_at`). A failing pre script
 * fails the job before `work` starts. A failing post script fails the job too, although the
 * work is done: a post script is usually part of the operator's procedure (restarting a service,
 * copying the backup elsewhere), and a success would hide that it did not happen. On a backup
 * the caller removes the stored file then (see `onPostFailed`), so the target never holds a file
 * the catalog does not list as completed.
 */
export async function runWithHooks(
  operation: "backup" | "restore",
  context: HookContext,
  work: () => Promise<ResultManifest>,
  onPostFailed?: (manifest: ResultManifest) => Promise<void>,
): Promise<ResultManifest> {
  const clock = new PhaseClock();
  const pre = context.scripts?.[`pre_${operation}`] ?? [];
  const post = context.scripts?.[`post_${operation}`] ?? [];
  if (pre.length > 0)
    await runPhase(`pre-${operation}`, pre, context, clock, context.backupLocation);
  const manifest = await work();
  if (post.length > 0) {
    try {
      await runPhase(`post-${operation}`, post, context, clock, manifest.location);
    } catch (error) {
      await onPostFailed?.(manifest);
      throw error;
    }
  }
  const hooks = clock.finish();
  const preTimings = pre.length > 0 ? 1 : 0;
  return {
    ...manifest,
    started_at: hooks.started_at,
    finished_at: hooks.finished_at,
    timings: [
      ...hooks.timings.slice(0, preTimings),
      ...manifest.timings,
      ...hooks.timings.slice(preTimings),
    ],
  };
}

async function runPhase(
  phase: HookPhase,
  entries: string[],
  context: HookContext,
  clock: PhaseClock,
  backupLocation: string | undefined,
): Promise<void> {
  context.onPhase?.(phase);
  const timeoutMs = (context.scripts?.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  // What a script may need to know, besides the agent's own environment (PATH, HOME, ...).
  const env: Record<string, string> = {
    STOWAGE_PHASE: phase,
    STOWAGE_DEPLOYMENT: context.deployment,
    STOWAGE_JOB: context.job,
    ...(backupLocation?.startsWith("file:")
      ? { STOWAGE_BACKUP_FILE: fileURLToPath(backupLocation) }
      : {}),
  };
  await clock.time(phase, async () => {
    for (const script of await scriptsOf(phase, entries)) {
      await runScript(phase, script, env, timeoutMs, context);
    }
  });
}

/**
 * The scripts an entry names: a file itself, or a directory's executable files in lexical order,
 * as databacker runs its `/scripts.d/<phase>` folders. A named path that is missing is an error:
 * a misspelt hook must not be skipped silently.
 */
async function scriptsOf(phase: HookPhase, entries: string[]): Promise<string[]> {
  const scripts: string[] = [];
  for (const entry of entries) {
    const info = await stat(entry).catch(() => undefined);
    if (!info) throw new HookScriptError(phase, entry, "does not exist");
    if (!info.isDirectory()) {
      scripts.push(entry);
      continue;
    }
    const names = (await readdir(entry)).sort();
    for (const name of names) {
      const candidate = path.join(entry, name);
      if ((await stat(candidate)).isFile() && (await isExecutable(candidate))) {
        scripts.push(candidate);
      }
    }
  }
  return scripts;
}

function isExecutable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Runs one script directly (no shell), streaming its output line by line; rejects unless it exits 0. */
function runScript(
  phase: HookPhase,
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
  context: HookContext,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, [], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let timedOut = false;
    const kill = () => void child.kill("SIGKILL");
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    context.signal?.addEventListener("abort", kill, { once: true });
    for (const stream of ["stdout", "stderr"] as const) {
      createInterface({ input: child[stream] }).on("line", (line) =>
        context.onOutput(phase, stream, line, script),
      );
    }
    const settle = (error?: Error) => {
      clearTimeout(timer);
      context.signal?.removeEventListener("abort", kill);
      if (error) reject(error);
      else resolve();
    };
    child.once("error", (error) =>
      settle(new HookScriptError(phase, script, `could not start: ${error.message}`)),
    );
    // "close", not "exit": every output line has been read by then.
    child.once("close", (code, signal) => {
      if (code === 0) settle();
      else if (timedOut)
        settle(new HookScriptError(phase, script, `timed out after ${timeoutMs / 1000} s`));
      else
        settle(
          new HookScriptError(
            phase,
            script,
            code === null ? `was killed by ${signal}` : `exited with code ${code}`,
          ),
        );
    });
  });
}
