import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { startTestController, type TestController } from "../../controller/test/test-controller";
import { completedBackup, must } from "./agent-e2e";
import { runAgentCli, spawnAgent, type AgentProcess } from "./agent-process";

let t: TestController;
let work: string;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  t = await startTestController();
  work = await mkdtemp(path.join(tmpdir(), "stowage-agent-e2e-"));
});
afterAll(async () => {
  agent?.child.kill("SIGKILL");
  await t.stop();
  await rm(work, { recursive: true, force: true });
});

function rowsOf(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT * FROM notes ORDER BY id").all();
  } finally {
    db.close();
  }
}

async function follow<T extends { op: string; final?: boolean }>(
  stream: AsyncIterable<T>,
): Promise<T[]> {
  const frames: T[] = [];
  for await (const frame of stream) {
    frames.push(frame);
    if (frame.final) break;
  }
  return frames;
}

describe("stowage-agent with a sqlite deployment", () => {
  it("enrolls, takes a backup the operator asked for, and restores it to a new path", async () => {
    const operator = t.client();
    const source = path.join(work, "app.db");
    const db = new Database(source);
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO notes (body) VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`note ${i}`);
    })();
    // Left open with a write in its WAL: the online backup must still see a consistent database.
    insert.run("written just before the backup");

    const target = must(
      await operator.POST("/v1/targets", {
        body: { type: "file", name: "local-disk", url: `file://${path.join(work, "backups")}` },
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
    expect(enrolled).toMatchObject({ code: 0 });
    expect((await stat(stateFile)).mode & 0o777).toBe(0o600);
    const { instance } = JSON.parse(await readFile(stateFile, "utf8")) as { instance: string };
    // A spent token cannot enroll again: 401, exit code 3.
    const again = await runAgentCli([
      "enroll",
      "--controller",
      t.url,
      "--token",
      enrollment.token,
      "--state",
      path.join(work, "other", "state.json"),
    ]);
    expect(again.code).toBe(3);

    const deployment = must(
      await operator.POST("/v1/deployments", {
        body: {
          name: "app-db",
          kind: "sqlite",
          connection: { path: source },
          driver: { type: "pull", agent_id: instance },
          target_ids: [target.id],
        },
      }),
    );
    agent = await spawnAgent(["--state", stateFile]);

    const backup = await completedBackup(t, deployment.id);
    const catalog = must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
      }),
    ).items;
    expect(catalog.map((entry) => entry.id)).toEqual([backup.id]);
    expect(backup.state).toBe("COMPLETED");
    const stored = fileURLToPath(backup.locations[0].url);
    expect(stored.startsWith(path.join(work, "backups", "app-db"))).toBe(true);
    const digest = createHash("sha256")
      .update(await readFile(stored))
      .digest("hex");
    expect(backup.sha256).toBe(digest);
    db.close();

    const destination = path.join(work, "restored", "app.db");
    const restoreFrames = await follow(
      operator.streamNdjson("post", "/v1/deployments/{deployment}/restores", {
        params: { path: { deployment: deployment.id } },
        body: { backup_id: backup.id, target: destination },
      }),
    );
    expect(restoreFrames[restoreFrames.length - 1]).toMatchObject({ op: "restore_completed" });
    expect(rowsOf(destination)).toEqual(rowsOf(source));
    expect(rowsOf(destination)).toHaveLength(2001);

    // The agent shipped its job log under the job's run id.
    const logs = await operator.GET("/v1/jobs/{job}/logs", {
      params: { path: { job: backup.job_id ?? "" } },
      parseAs: "text",
    });
    expect(logs.data).toContain("backup job succeeded");

    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    agent = undefined;
  }, 30_000);
});
