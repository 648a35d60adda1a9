/**
 * A server in a child process, driven over IPC: the parent learns its URL, asks for its CPU time
 * around each measured batch, can CPU-profile a window of it (the inspector's sampling profiler,
 * in the child, so start-up is left out) and stops it. The load generator then never shares an
 * event loop with the server it measures.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** The child's CPU time so far (user + system), in µs. */
  cpuMicros(): Promise<number>;
  /** Starts the child's CPU profiler (a sample every 200 µs). */
  startProfile(): Promise<void>;
  /** Stops it and writes the `.cpuprofile` to `file`. */
  stopProfile(file: string): Promise<void>;
  /** Closes the server and lets the process exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

type ParentMessage =
  | { type: "cpu" }
  | { type: "profile-start" }
  | { type: "profile-stop"; file: string }
  | { type: "stop" };
type ChildMessage =
  | { type: "listening"; url: string }
  | { type: "cpu"; micros: number }
  | { type: "profiling" }
  | { type: "profiled" }
  | { type: "error"; message: string };

/**
 * Forks `script` (a `.ts` file) with `args`, in plain Node: transpiled by plain-node-register.js,
 * not ts-node, whose source-map support slows every EventEmitter of the server measured. Not the
 * parent's execArgv: a `--cpu-prof` of the benchmark must not profile its servers.
 */
export async function forkServer(script: string, args: readonly string[]): Promise<ServerProcess> {
  const child = fork(script, [...args], {
    execArgv: ["-r", path.join(__dirname, "plain-node-register.js")],
    // The controller logs to stdout: discarded, as a log shipper reading a pipe would cost less.
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const next = (type: ChildMessage["type"]) =>
    new Promise<ChildMessage>((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type === "error") finish(() => reject(new Error(message.message)));
        else if (message.type === type) finish(() => resolve(message));
      };
      const onExit = () => finish(() => reject(new Error(`${script} exited`)));
      const finish = (settle: () => void) => {
        child.off("message", onMessage);
        child.off("exit", onExit);
        settle();
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  const send = (message: ParentMessage) => child.send(message);

  const listening = await next("listening");
  return {
    url: listening.type === "listening" ? listening.url : "",
    child,
    async cpuMicros() {
      const reply = next("cpu");
      send({ type: "cpu" });
      const message = await reply;
      return message.type === "cpu" ? message.micros : Number.NaN;
    },
    async startProfile() {
      const reply = next("profiling");
      send({ type: "profile-start" });
      await reply;
    },
    async stopProfile(file) {
      const reply = next("profiled");
      send({ type: "profile-stop", file });
      await reply;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      send({ type: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The child's side: starts the server, reports its URL, answers CPU and profile requests, stops. */
export async function serveOverIpc(
  start: () => Promise<{ url: string; close(): Promise<void> }>,
): Promise<void> {
  const reply = (message: ChildMessage) => process.send?.(message);
  // The parent owns this process: when it goes away, so does the server.
  process.on("disconnect", () => process.exit(0));
  try {
    const server = await start();
    const session = new Session();
    process.on("message", (message: ParentMessage) => {
      if (message.type === "cpu") {
        const usage = process.cpuUsage();
        reply({ type: "cpu", micros: usage.user + usage.system });
      } else if (message.type === "profile-start") {
        session.connect();
        session.post("Profiler.enable", () =>
          session.post("Profiler.setSamplingInterval", { interval: 200 }, () =>
            session.post("Profiler.start", () => reply({ type: "profiling" })),
          ),
        );
      } else if (message.type === "profile-stop") {
        session.post("Profiler.stop", (error, result) => {
          if (error) reply({ type: "error", message: error.message });
          else {
            writeFileSync(message.file, JSON.stringify(result.profile));
            reply({ type: "profiled" });
          }
          session.disconnect();
        });
      } else if (message.type === "stop") {
        void server.close().finally(() => process.exit(0));
      }
    });
    reply({ type: "listening", url: server.url });
  } catch (error) {
    reply({ type: "error", message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}
