import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { follow, must, startAgentWorld, storedFiles, until, type AgentWorld } from "./agent-e2e";

/**
 * Big enough that gzip keeps the agent busy for seconds: random bytes do not compress, so the
 * backup cannot finish before the test acts on it. Written once and shared by both tests.
 */
const SOURCE_BYTES = 200 * 1024 * 1024;

let sourceDir: string;
let source: string;
let world: AgentWorld | undefined;

beforeAll(async () => {
  sourceDir = await mkdtemp(path.join(tmpdir(), "stowage-agent-big-"));
  source = path.join(sourceDir, "big.bin");
  const out = createWriteStream(source);
  for (let written = 0; written < SOURCE_BYTES; written += 16 * 1024 * 1024) {
    if (!out.write(randomBytes(16 * 1024 * 1024))) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
});
afterEach(async () => {
  await world?.stop();
  world = undefined;
});
afterAll(async () => {
  await rm(sourceDir, { recursive: true, force: true });
});

/** Queues a backup of the big file and answers once the agent is writing it to the target. */
async function backupUnderWay(current: AgentWorld, name: string) {
  const operator = current.t.client();
  const deployment = await current.deploy({ name, kind: "files", connection: { paths: [source] } });
  // The stream's first frame names the queued job; leaving the stream leaves the job running.
  const queued = operator.streamNdjson("post", "/v1/deployments/{deployment}/backups", {
    params: { path: { deployment: deployment.id } },
    body: {},
  });
  let jobId: string | undefined;
  for await (const frame of queued) {
    jobId = "subject" in frame ? frame.subject.job : undefined;
    break;
  }
  if (!jobId) throw new Error("the backup stream did not name its job");
  const job = { id: jobId };

  const jobOf = async () =>
    must(await operator.GET("/v1/jobs/{job}", { params: { path: { job: job.id } } }));
  const backupsOf = async () =>
    must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
      }),
    ).items;
  return { deployment, job, jobOf, backupsOf };
}

async function writing(current: AgentWorld, name: string): Promise<void> {
  await until(`a partial file of ${name}`, async () => {
    const files = await storedFiles(current.targetDir, name);
    return files.partial.length > 0 ? true : undefined;
  });
}

describe("a running backup", () => {
  it("stops when the operator cancels it, leaving no backup behind", async () => {
    world = await startAgentWorld();
    const current = world;
    const agent = await current.startAgent();
    const { job, jobOf, backupsOf } = await backupUnderWay(current, "big-cancel");
    await writing(current, "big-cancel");

    must(
      await current.t.client().POST("/v1/jobs/{job}/cancel", { params: { path: { job: job.id } } }),
    );
    const ended = await until("the job to end", async () => {
      const view = await jobOf();
      return view.status === "QUEUED" || view.status === "RUNNING" ? undefined : view;
    });
    expect(ended.status).toBe("CANCELLED");
    // The agent learns of the cancel from a 409 on its next progress report, then cleans up.
    await until("the agent to stop", () =>
      agent.lines.some((line) => line.msg.includes("cancelled; stopped and cleaned up"))
        ? true
        : undefined,
    );
    expect(await storedFiles(current.targetDir, "big-cancel")).toEqual({ final: [], partial: [] });
    expect((await backupsOf()).map((backup) => backup.state)).not.toContain("COMPLETED");
    // A cancel ends the job, not the agent.
    expect(agent.child.exitCode).toBeNull();
  }, 25_000);

  it("is requeued once when its agent dies, failed when the retry's dies too, and its temp files cleared later", async () => {
    world = await startAgentWorld({ jobLeaseMs: 2000 });
    const current = world;
    const first = await current.startAgent();
    const { deployment, jobOf, backupsOf } = await backupUnderWay(current, "big-kill");
    await writing(current, "big-kill");
    first.child.kill("SIGKILL");
    await first.exited;
    const { partial: leftByFirst } = await storedFiles(current.targetDir, "big-kill");

    const requeued = await until("the requeue", async () => {
      const view = await jobOf();
      return view.status === "QUEUED" ? view : undefined;
    });
    expect(requeued.attempt).toBe(1);

    const second = await current.startAgent();
    const retried = await until("the second attempt", async () => {
      const view = await jobOf();
      return view.status === "RUNNING" && view.attempt === 2 ? view : undefined;
    });
    expect(retried.agent_id).toBe(current.instance);
    await until("the second attempt to write", async () => {
      const files = await storedFiles(current.targetDir, "big-kill");
      // SIGKILL leaves the first attempt's temp file (which the retry removes once it is older
      // than the lease); the retry writes a new one.
      return files.partial.some((name) => !leftByFirst.includes(name)) ? true : undefined;
    });
    second.child.kill("SIGKILL");
    await second.exited;

    const failed = await until("the job to fail", async () => {
      const view = await jobOf();
      return view.status === "FAILED" ? view : undefined;
    });
    expect(failed).toMatchObject({ attempt: 2 });
    expect(failed.error_message).toContain("lease expired on attempt 2");
    expect(await storedFiles(current.targetDir, "big-kill")).toMatchObject({ final: [] });
    expect((await backupsOf()).map((backup) => backup.state)).not.toContain("COMPLETED");

    // The next backup first removes the temp files the killed agents left, once they are older
    // than the lease (the rule that keeps a live writer's file safe).
    const folder = path.join(current.targetDir, "big-kill");
    await until("the temp files to outlive the lease", async () => {
      const { partial } = await storedFiles(current.targetDir, "big-kill");
      const ages = await Promise.all(
        partial.map(async (name) => Date.now() - (await stat(path.join(folder, name))).mtimeMs),
      );
      return ages.every((age) => age > 2000) ? true : undefined;
    });
    await current.startAgent();
    const next = await follow(
      current.t.client().streamNdjson("post", "/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
        body: {},
      }),
    );
    expect(next[next.length - 1]).toMatchObject({ op: "backup_completed" });
    const after = await storedFiles(current.targetDir, "big-kill");
    expect(after.partial).toEqual([]);
    expect(after.final).toHaveLength(1);
  }, 60_000);
});
