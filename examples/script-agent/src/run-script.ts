import { spawn } from "node:child_process";

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
 */
export function runScript(
  file: string,
  env: Record<string, string>,
  signal: AbortSignal,
): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const child = spawn(file, [], { env, signal, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const outcome = (error?: string): ScriptOutcome => ({
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
      ...(error !== undefined ? { error } : {}),
    });
    // A script that cannot start (missing, not executable) emits `error` and then maybe `close`.
    let settled = false;
    child.on("error", (error) => {
      if (settled) return;
      settled = true;
      resolve(outcome(error.message));
    });
    child.on("close", (code, signalName) => {
      if (settled) return;
      settled = true;
      if (code === 0) resolve(outcome());
      else resolve(outcome(signalName ? `signal: ${signalName}` : `exit status ${code}`));
    });
  });
}
