import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";

const CLI = path.join(__dirname, "..", "src", "cli.ts");

export interface ControllerProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
}

/** The controller as a real child process (what `npm start` runs), reporting its URL from its log. */
export async function spawnController(
  dataDir: string,
  extraArgs: string[] = [],
): Promise<ControllerProcess> {
  const child = spawn(
    process.execPath,
    [
      "-r",
      require.resolve("ts-node/register/transpile-only"),
      CLI,
      "serve",
      "--port",
      "0",
      "--data-dir",
      dataDir,
      ...extraArgs,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        TS_NODE_PROJECT: path.join(__dirname, "..", "..", "..", "tsconfig.json"),
      },
    },
  );
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  const lines = createInterface({ input: child.stdout! });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "controller listening" && entry.url) resolve(entry.url);
    });
    void exited.then((code) =>
      reject(new Error(`controller exited (${code}) before listening: ${stderr}`)),
    );
  });
  return { child, url, exited };
}

/** One run of `stowage-controller <args>` (a subcommand other than serve), to its exit. */
export function runControllerCli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-r", require.resolve("ts-node/register/transpile-only"), CLI, ...args],
      {
        env: {
          ...process.env,
          TS_NODE_PROJECT: path.join(__dirname, "..", "..", "..", "tsconfig.json"),
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
