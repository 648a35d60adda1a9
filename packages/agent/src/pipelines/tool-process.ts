import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { Transform, Writable, type Readable } from "node:stream";

/** How much of a tool's stderr a failure message carries: enough for the error, not a flood. */
const STDERR_TAIL_CHARS = 4096;

/** A database tool (pg_dump, psql, mariadb-dump, ...) exited unsuccessfully. */
export class ToolFailedError extends Error {
  constructor(command: string, status: string, stderr: string) {
    super(`${command} ${status}${stderr ? `: ${stderr.trim()}` : ""}`);
    this.name = "ToolFailedError";
  }
}

export interface ToolOptions {
  /** Added to the agent's environment: where passwords go, since argv is visible to every user. */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Each stderr line as it arrives, for the job's log. */
  onStderr?: (line: string) => void;
}

export interface ToolRun {
  stdout: Readable;
  /**
   * The tool's stdin as a pipeline's last stage. It ends the tool's input only after every
   * earlier stage finished cleanly; a failing pipeline kills the tool first, so that psql's
   * `--single-transaction` rolls back instead of committing what it read before the EOF.
   * It finishes once the tool exited, and fails with the tool's error.
   */
  stdin(): Writable;
  /** Resolves when the tool exited 0; rejects with a ToolFailedError carrying its stderr otherwise. */
  exited: Promise<void>;
  kill(): void;
}

/** Starts `command`; its stdout is for the caller to consume, its stderr is collected and logged. */
export function runTool(command: string, args: string[], options: ToolOptions = {}): ToolRun {
  const child = spawn(command, args, {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let stderr = "";
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderr = (stderr + line + "\n").slice(-STDERR_TAIL_CHARS);
    options.onStderr?.(line);
  });
  const kill = () => void child.kill("SIGKILL");
  const exited = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new ToolFailedError(
            command,
            code === null ? `killed by ${signal}` : `exited with code ${code}`,
            stderr,
          ),
        );
    });
  });
  options.signal?.addEventListener("abort", kill, { once: true });
  const forget = () => options.signal?.removeEventListener("abort", kill);
  // Handled here too, so an early exit is no unhandled rejection before a caller awaits `exited`.
  exited.then(forget, forget);
  // A tool that exits without reading all of its input closes the pipe: `exited` reports why.
  child.stdin.on("error", () => undefined);

  const stdin = () =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (child.stdin.write(chunk)) callback();
        else child.stdin.once("drain", () => callback());
      },
      final(callback) {
        child.stdin.end();
        exited.then(() => callback(), callback);
      },
      destroy(error, callback) {
        if (error) kill();
        child.stdin.destroy();
        callback(error);
      },
    });
  return { stdout: child.stdout, stdin, exited, kill };
}

/** Runs a tool with `input` on its stdin to its exit, answering its stdout. */
export async function runToolForOutput(
  command: string,
  args: string[],
  input: string,
  options: ToolOptions = {},
): Promise<string> {
  const run = runTool(command, args, options);
  let output = "";
  run.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // Its failure is the tool's, which `exited` reports with the stderr.
  run
    .stdin()
    .on("error", () => undefined)
    .end(input);
  await run.exited;
  return output;
}

/**
 * A pass-through whose end runs `check` before the end reaches the next stage: placed before a
 * tool's stdin, a failed check kills the tool before it could treat the EOF as "all done".
 */
export function checkAtEnd(check: () => void): Transform {
  return new Transform({
    transform: (chunk: Buffer, _encoding, callback) => callback(null, chunk),
    flush(callback) {
      try {
        check();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** The first of `names` found on PATH, e.g. mariadb-dump before mysqldump. */
export async function findExecutable(names: string[]): Promise<string> {
  const directories = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  for (const name of names) {
    for (const directory of directories) {
      const candidate = path.join(directory, name);
      if (
        await access(candidate, constants.X_OK).then(
          () => true,
          () => false,
        )
      )
        return candidate;
    }
  }
  throw new Error(`none of ${names.join(", ")} is installed (searched PATH)`);
}
