import { createHash, randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { runOperatorCli } from "../../controller/src/operator-cli";
import { AgentEventsStore } from "../../controller/src/store/agent-events-store";
import { AgentLogsStore } from "../../controller/src/store/agent-logs-store";
import type { Db } from "../../controller/src/store/database";
import { secondConnection } from "../../controller/test/pull-fixture";
import { follow, must, startAgentWorld, until, type AgentWorld } from "./agent-e2e";
import { runAgentCli } from "./agent-process";

/**
 * `stowage-agent backup-now` and `stowage-agent restore` as real child processes against a real
 * controller: the catalog entry a one-off backup makes, the restore of it by location and sha256,
 * and the refusals with their exit codes.
 */

let world: AgentWorld;
let stateFile: string;
let db: Db;

beforeAll(async () => {
  world = await startAgentWorld();
  // Where startAgentWorld enrolled the agent.
  stateFile = path.join(world.work, "agent", "state.json");
  db = secondConnection(world.t).db;
});
afterAll(async () => {
  db?.close();
  await world.stop();
});

/** Any terminal control: what a display off a terminal must never write. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

interface LogLine {
  level: string;
  msg: string;
  job?: string;
  sha256?: string;
  size_bytes?: number;
  location?: string;
}

function jsonLines(stdout: string): LogLine[] {
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

function makeDatabase(file: string, rows: number): Database.Database {
  const source = new Database(file);
  source.pragma("journal_mode = WAL");
  source.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  const insert = source.prepare("INSERT INTO notes (body) VALUES (?)");
  source.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`note ${i} ${"x".repeat(200)}`);
  })();
  return source;
}

function rowsOf(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT * FROM notes ORDER BY id").all();
  } finally {
    db.close();
  }
}

async function sha256Of(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

/** The operator CLI in this process, as an operator would call it (`-o json`). */
async function operatorCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runOperatorCli(
    ["--url", world.t.url, ...args],
    { STOWAGE_TOKEN: world.t.adminToken },
    (text) => (out += text),
    (text) => (err += text),
  );
  return { code, out, err };
}

describe("stowage-agent backup-now and restore", () => {
  it("takes a backup the catalog lists as COMPLETED, and restores it by location and sha256", async () => {
    const operator = world.t.client();
    const source = path.join(world.work, "app.db");
    const live = makeDatabase(source, 3000);
    const deployment = await world.deploy({
      name: "app-db",
      kind: "sqlite",
      connection: { path: source },
    });

    const taken = await runAgentCli(["backup-now", "app-db", "--state", stateFile]);
    expect(taken).toMatchObject({ code: 0 });
    // stderr is a pipe here: plain progress lines, no carriage return or escape sequence.
    expect(taken.stderr).not.toMatch(CONTROL);
    const progress = taken.stderr.split("\n").filter(Boolean);
    expect(progress[0]).toBe("backup app-db: snapshot");
    expect(progress[1]).toMatch(/^backup app-db: upload \d+(\.\d)? (B|KiB|MiB)/);
    expect(progress[progress.length - 1]).toMatch(
      /^backup app-db: done after \d+(\.\d)? s, \d+\.\d (KiB|MiB) stored at file:\/\/\/\S+$/,
    );
    const lines = jsonLines(taken.stdout);
    const succeeded = lines[lines.length - 1];
    expect(succeeded).toMatchObject({ level: "info", msg: "backup succeeded" });
    const run = succeeded.job ?? "";
    const stored = fileURLToPath(succeeded.location ?? "");
    expect(path.dirname(stored)).toBe(path.join(world.targetDir, "app-db"));
    expect(path.basename(stored)).toMatch(new RegExp(`^app-db-000000-${run}\\.sqlite(\\.gz)?$`));
    const digest = await sha256Of(stored);
    expect(succeeded.sha256).toBe(digest);

    // The catalog, through the generated control client.
    const backups = must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
      }),
    ).items;
    expect(backups).toHaveLength(1);
    const [backup] = backups;
    expect(backup).toMatchObject({
      state: "COMPLETED",
      trigger: "agent",
      sha256: digest,
      locations: [{ target_id: world.targetId, url: succeeded.location }],
      metadata: expect.objectContaining({ run }),
    });
    // The run's log reached the controller under the run id.
    const logged = new AgentLogsStore(db)
      .runChunks(world.instance, run, 0, 100)
      .flatMap((chunk) => chunk.body.split("\n").filter(Boolean))
      .map((line) => (JSON.parse(line) as { message: string }).message);
    expect(logged).toEqual(["backup started", "backup succeeded"]);

    // Where `stowage-agent restore --help` sends the operator for the location and sha256.
    const shown = await operatorCli(["backups", "get", "app-db", backup.id, "-o", "json"]);
    expect(shown).toMatchObject({ code: 0, err: "" });
    const manifest = JSON.parse(shown.out) as { sha256: string; locations: { url: string }[] };
    expect(manifest.sha256).toBe(digest);

    const destination = path.join(world.work, "restored", "app.db");
    const restored = await runAgentCli([
      "restore",
      "app-db",
      "--from",
      manifest.locations[0].url,
      "--sha256",
      manifest.sha256,
      "--to",
      destination,
      "--state",
      stateFile,
    ]);
    expect(restored).toMatchObject({ code: 0 });
    expect(restored.stderr).not.toMatch(CONTROL);
    expect(restored.stderr.split("\n").filter(Boolean)).toEqual([
      "restore app-db: verify",
      expect.stringMatching(
        new RegExp(`^restore app-db: done after \\d+(\\.\\d)? s, restored into ${destination}$`),
      ),
    ]);
    expect(rowsOf(destination)).toEqual(rowsOf(source));
    expect(rowsOf(destination)).toHaveLength(3000);
    // The restore was reported as a run of the deployment; the catalog is unchanged by it.
    const restoreRun = jsonLines(restored.stdout).pop()?.job ?? "";
    expect(new AgentEventsStore(db).run(world.instance, restoreRun)).toMatchObject({
      operation: "restore",
      state: "succeeded",
      deployment_id: deployment.id,
      backup_id: null,
    });
    expect(
      must(
        await operator.GET("/v1/deployments/{deployment}/backups", {
          params: { path: { deployment: deployment.id } },
        }),
      ).items,
    ).toHaveLength(1);

    // A wrong sha256: exit 9, and nothing written, not even the destination's folder.
    const elsewhere = path.join(world.work, "not-restored", "app.db");
    const wrong = await runAgentCli([
      "restore",
      "app-db",
      "--from",
      manifest.locations[0].url,
      "--sha256",
      "0".repeat(64),
      "--to",
      elsewhere,
      "--state",
      stateFile,
    ]);
    expect(wrong.code).toBe(9);
    expect(wrong.stderr.split("\n").filter(Boolean).pop()).toBe(
      `stowage-agent: restore refused: the sha256 of ${stored} is not ${"0".repeat(64)}; nothing was written`,
    );
    await expect(stat(path.dirname(elsewhere))).rejects.toMatchObject({ code: "ENOENT" });

    // Restoring in place without --force is refused before anything is read.
    const inPlace = await runAgentCli([
      "restore",
      "app-db",
      "--from",
      stored,
      "--sha256",
      digest,
      "--state",
      stateFile,
    ]);
    expect(inPlace.code).toBe(4);
    expect(inPlace.stderr).toBe(
      `stowage-agent: restoring in place overwrites app-db's data (${source}): pass --to to restore elsewhere, or --force\n`,
    );
    live.close();
  }, 60_000);

  it("exits 6 for a deployment not in the agent's config, and 4 when not enrolled", async () => {
    const unknown = await runAgentCli(["backup-now", "no-such-db", "--state", stateFile]);
    expect(unknown).toMatchObject({
      code: 6,
      stderr: "stowage-agent: deployment no-such-db is not in this agent's config\n",
    });
    const nobody = path.join(world.work, "nobody", "state.json");
    const notEnrolled = await runAgentCli(["backup-now", "app-db", "--state", nobody]);
    expect(notEnrolled).toMatchObject({
      code: 4,
      stderr: `stowage-agent: no agent state at ${nobody}: run \`stowage-agent enroll --controller URL --token T\` first\n`,
    });
  }, 30_000);

  it("records an encrypted deployment's key, so the controller's own restore job can read the backup", async () => {
    const source = path.join(world.work, "secret.db");
    const live = makeDatabase(source, 500);
    const keyFile = path.join(world.work, "secret.key");
    await writeFile(keyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
    const deployment = await world.deploy({
      name: "secret-db",
      kind: "sqlite",
      connection: { path: source },
      encryption: { algorithm: "aes-256-gcm", key_ref: `file:${keyFile}` },
    });
    const taken = await runAgentCli(["backup-now", "secret-db", "--state", stateFile]);
    expect(taken).toMatchObject({ code: 0 });
    expect(jsonLines(taken.stdout).pop()?.location).toMatch(/\.enc$/);

    const agent = await world.startAgent();
    let agentStderr = "";
    agent.child.stderr!.on("data", (chunk: Buffer) => (agentStderr += chunk.toString()));
    const operator = world.t.client();
    const [backup] = must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
      }),
    ).items;
    const destination = path.join(world.work, "restored", "secret.db");
    const frames = await follow(
      operator.streamNdjson("post", "/v1/deployments/{deployment}/restores", {
        params: { path: { deployment: deployment.id } },
        body: { backup_id: backup.id, target: destination },
      }),
    );
    expect(frames[frames.length - 1]).toMatchObject({ op: "restore_completed" });
    expect(rowsOf(destination)).toEqual(rowsOf(source));
    // `run` shows each job's progress on stderr too: plain lines, as it is not a terminal.
    const done = /^restore secret-db: done after \d+(\.\d)? s$/m;
    await until("the restore's last progress line", () => done.test(agentStderr) || undefined);
    expect(agentStderr).toContain("restore secret-db: verify\n");
    expect(agentStderr).not.toMatch(CONTROL);
    live.close();
  }, 60_000);
});
