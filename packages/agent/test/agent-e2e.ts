import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { components } from "@stowage/control-client";
import { startTestController, type TestController } from "../../controller/test/test-controller";
import { runAgentCli, spawnAgent, type AgentProcess } from "./agent-process";

type DeploymentCreate = components["schemas"]["DeploymentCreate"];

/** The result of a control API call, or the error envelope thrown as a test failure. */
export function must<T>(result: { data?: { result: T }; error?: unknown }): T {
  if (!result.data) throw new Error(JSON.stringify(result.error));
  return result.data.result;
}

/** Frames of an NDJSON stream up to and including its final one. */
export async function follow<T extends { op: string; final?: boolean }>(
  stream: AsyncIterable<T>,
): Promise<T[]> {
  const frames: T[] = [];
  for await (const frame of stream) {
    frames.push(frame);
    if (frame.final) break;
  }
  return frames;
}

/**
 * Takes a backup of `deployment` (id or name) through the control API's stream, requires it to
 * complete, and answers its catalog entry.
 */
export async function completedBackup(t: TestController, deployment: string) {
  const operator = t.client();
  const frames = await follow(
    operator.streamNdjson("post", "/v1/deployments/{deployment}/backups", {
      params: { path: { deployment } },
      body: {},
    }),
  );
  const done = frames[frames.length - 1];
  expect(done).toMatchObject({ op: "backup_completed" });
  return must(
    await operator.GET("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment, backup: done.subject.backup ?? "" } },
    }),
  );
}

/** Polls `probe` until it answers a value; a test that waits on the agent never sleeps blindly. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Files in a deployment's folder of a file target, split by whether they took their final name. */
export async function storedFiles(
  targetDir: string,
  deployment: string,
): Promise<{ final: string[]; partial: string[] }> {
  const names = await readdir(path.join(targetDir, deployment)).catch(() => []);
  return {
    final: names.filter((name) => !name.startsWith(".")),
    partial: names.filter((name) => name.includes(".partial-")),
  };
}

/**
 * A controller, an enrolled agent identity, a file target in a temp directory, and helpers to
 * create the agent's deployments and run it as a child process. `stop` leaves nothing behind.
 */
export interface AgentWorld {
  t: TestController;
  work: string;
  targetDir: string;
  targetId: string;
  instance: string;
  /** Creates a deployment of this world's agent writing to its target. */
  deploy(
    body: Omit<DeploymentCreate, "driver" | "target_ids">,
  ): Promise<components["schemas"]["Deployment"]>;
  /** Starts `stowage-agent run` (stopped by `stop` unless the test ends it first). */
  startAgent(): Promise<AgentProcess>;
  stop(): Promise<void>;
}

export async function startAgentWorld(
  controller: Parameters<typeof startTestController>[0] = {},
): Promise<AgentWorld> {
  const t = await startTestController(controller);
  const work = await mkdtemp(path.join(tmpdir(), "stowage-agent-e2e-"));
  const targetDir = path.join(work, "backups");
  const operator = t.client();
  const target = must(
    await operator.POST("/v1/targets", {
      body: { type: "file", name: "local-disk", url: `file://${targetDir}` },
    }),
  );
  const enrollment = must(await operator.POST("/v1/enrollments", { body: {} }));
  const stateFile = path.join(work, "agent", "state.json");
  const enrolled = await runAgentCli([
    "enroll",
    "--controller",
    t.url,
    "--token",
    enrollment.token,
    "--state",
    stateFile,
  ]);
  if (enrolled.code !== 0) throw new Error(`enroll failed: ${enrolled.stderr}`);
  const { instance } = JSON.parse(await readFile(stateFile, "utf8")) as { instance: string };
  const agents: AgentProcess[] = [];
  return {
    t,
    work,
    targetDir,
    targetId: target.id,
    instance,
    async deploy(body) {
      return must(
        await operator.POST("/v1/deployments", {
          body: { ...body, driver: { type: "pull", agent_id: instance }, target_ids: [target.id] },
        }),
      );
    },
    async startAgent() {
      const agent = await spawnAgent(["--state", stateFile]);
      agents.push(agent);
      return agent;
    },
    async stop() {
      for (const agent of agents) {
        if (agent.child.exitCode === null && agent.child.signalCode === null) {
          agent.child.kill("SIGKILL");
          await agent.exited;
        }
      }
      await t.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
