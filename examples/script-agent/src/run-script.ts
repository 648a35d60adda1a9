import { spawn } from "node:child_process";
import { stopProcessGroup } from "./process-group";

export interface ScriptOutcome {
  stdout: string;
  stderr: string;
  /** What went wrong, in the real agent's words (`exit status 1`); absent when the script succeeded. */
  error?: string;
}

/**
 * Runs one phase's script with the job's environment and captures its output. The script is
 * executed directly (its shebang picks the shell), never through `sh -c`, so nothing from a
 * request is ever parsed as shell syntax.
 *
 * It leads a process group of its own, and `signal` stops the whole group (`stopProcessGroup`:
 * SIGTERM, SIGKILL after `stopGraceMs`): killing only the shell would leave what it started
 * running, holding the output pipes open. The outcome is answered once the group is stopped.
 */
export function runScript(
  file: string,
  env: Record<string, string>,
  signal: AbortSignal,
  stopGraceMs: number,
): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const child = spawn(file, [], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stopping: Promise<void> = Promise.resolve();
    const stop = () => {
      if (child.pid !== undefined) stopping = stopProcessGroup(child.pid, stopGraceMs);
    };
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const outcome = (error?: string): ScriptOutcome => ({
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
      ...(error !== undefined ? { error } : {}),
    });
    // A script that cannot start (missing, not executable) emits `error` and then maybe `close`.
    let settled = false;
    const settle = (error?: string) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", stop);
      stopping.then(
        () => resolve(outcome(error)),
        (failure: unknown) =>
          resolve(
            outcome(
              `${error ?? "stopped"}; its process group could not be stopped: ${String(failure)}`,
            ),
          ),
      );
    };
    child.on("error", (error) => settle(error.message));
    child.on("close", (code, signalName) => {
      if (code === 0) settle();
      else settle(signalName ? `signal: ${signalName}` : `exit status ${code}`);
    });
  });
}
