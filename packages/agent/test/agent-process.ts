import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";

const CLI = path.join(__dirname, "..", "src", "cli.ts");
const ROOT_TSCONFIG = path.join(__dirname, "..", "..", "..", "tsconfig.json");
const NODE_ARGS = ["-r", require.resolve("ts-node/register/transpile-only"), CLI];
const ENV = { ...process.env, TS_NODE_PROJECT: ROOT_TSCONFIG };

/** One run of `stowage-agent <args>` to its exit. */
export function runAgentCli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...NODE_ARGS, ...args], { env: ENV }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface AgentProcess {
  child: ChildProcess;
  /** Every JSON line the agent logged so far. */
  lines: { level: string; msg: string; [field: string]: unknown }[];
  exited: Promise<number | string>;
}

/** `stowage-agent run` as a real child process, resolved once it logs that it is running. */
export async function spawnAgent(args: string[]): Promise<AgentProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, "run", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: ENV,
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  const lines: AgentProcess["lines"] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as AgentProcess["lines"][number];
      lines.push(entry);
      if (entry.msg === "agent running") resolve();
    });
    void exited.then((code) =>
      reject(new Error(`agent exited (${code}) before running: ${stderr}`)),
    );
  });
  return { child, lines, exited };
}
