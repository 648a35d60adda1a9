import { once } from "node:events";
import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createScriptAgentClient,
  type ScriptAgentClient,
  type components,
} from "@stowage/script-agent-client";
import { BACKUP_PHASES, createScriptAgentApp } from "../src";

type BackupJob = components["schemas"]["BackupJob"];
type BackupRequest = components["schemas"]["BackupRequest"];

const credentials = { username: "admin", password: "s3cret-basic" };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

let root: string;
const servers: Server[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "script-agent-"));
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await rm(root, { recursive: true, force: true });
});

/** A scripts directory: each phase echoes its name, unless `bodies` says otherwise. */
async function scripts(name: string, bodies: Partial<Record<string, string>> = {}) {
  const dir = path.join(root, name);
  await mkdir(dir);
  for (const phase of BACKUP_PHASES) {
    const file = path.join(dir, phase);
    await writeFile(file, `#!/bin/sh\n${bodies[phase] ?? `echo "${phase} done"`}\n`);
    await chmod(file, 0o755);
  }
  return dir;
}

async function startAgent(scriptsDir: string, maxJobs = 10, stopGraceMs = 500) {
  const workDir = await mkdtemp(path.join(root, "work-"));
  const { app, jobs, ready } = createScriptAgentApp({
    credentials,
    scriptsDir,
    workDir,
    maxJobs,
    stopGraceMs,
    validateResponses: true,
  });
  await ready();
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  server.on("close", () => jobs.close());
  await once(server, "listening");
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (authorization = basic(credentials.username, credentials.password)) =>
    createScriptAgentClient({ baseUrl, headers: { authorization }, retry: false });
  return { client, baseUrl };
}

function backupRequest(id: string): BackupRequest {
  return {
    id,
    compression: true,
    encryption_key: "example-key",
    destination: {
      type: "S3",
      skipStorage: true,
      bucket: "backups",
      authKey: "key",
      authSecret: "secret",
      filenamePrefix: "orders/",
    },
    backup: {
      host: "db.internal",
      username: "backup",
      password: "db-pass",
      database: "orders",
      parameters: [{ RETRIES: 2 }],
    },
  };
}

async function pollUntilDone(client: ScriptAgentClient, id: string): Promise<BackupJob> {
  for (;;) {
    const { data, response } = await client.GET("/backup/{id}", { params: { path: { id } } });
    if (!data) throw new Error(`poll answered ${response.status}`);
    if (data.status !== "RUNNING") return data;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls until `probe` answers a value (or throws after `ms`). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The pid a script wrote to `file`, once it did. */
function pidWritten(file: string): Promise<number> {
  return until(`a pid in ${file}`, async () => {
    const text = await readFile(file, "utf8").catch(() => "");
    return /^\d+\n$/.test(text) ? Number(text) : undefined;
  });
}

/**
 * Whether the process has exited: kill(pid, 0) says ESRCH, or it is a zombie (exited, not yet
 * reaped). An orphan is reaped by PID 1, and a container's PID 1 may never do it.
 */
function exited(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return true;
    throw error;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

describe("authentication", () => {
  it.each([
    ["a wrong password", basic("admin", "wrong")],
    ["a wrong user", basic("root", credentials.password)],
  ])("answers 401 Unauthorised. for %s", async (_name, authorization) => {
    const { client } = await startAgent(await scripts(`auth-${servers.length}`));
    const { response, error } = await client(authorization).GET("/status");
    expect(response.status).toBe(401);
    expect(error).toEqual({ message: "Unauthorised." });
  });

  it("answers 401 without credentials, and 200 with the right ones", async () => {
    const { client, baseUrl } = await startAgent(await scripts("auth-none"));
    const anonymous = createScriptAgentClient({ baseUrl, retry: false });
    expect((await anonymous.GET("/status")).response.status).toBe(401);
    expect((await client().GET("/status")).data).toEqual({ message: "Client is running" });
  });
});

describe("backup jobs", () => {
  it("runs every phase script in order to SUCCEEDED, with each phase's output", async () => {
    const dir = await scripts("ok", {
      "pre-backup-check": 'echo "retries=$RETRIES"; echo "checking" >&2',
      backup: 'printf "dump of %s" "$BACKUP_DATABASE" > "$BACKUP_FILE"; echo "dumped"',
    });
    const { client } = await startAgent(dir);
    const triggered = await client().POST("/backup", { body: backupRequest("job-ok") });
    expect(triggered.response.status).toBe(201);

    const job = await pollUntilDone(client(), "job-ok");
    expect(job).toMatchObject({
      status: "SUCCEEDED",
      state: "finished",
      type: "S3",
      bucket: "backups",
      filenamePrefix: "orders/",
      filename: expect.stringMatching(/^db\.internal_\d{4}_\d{2}_\d{2}_orders\.tar\.gz$/),
      filesize: { size: "dump of orders".length, unit: "byte" },
      pre_backup_lock_log: "pre-backup-lock done\n",
      pre_backup_check_log: "retries=2\n",
      pre_backup_check_errorlog: "checking\n",
      backup_log: "dumped\n",
      post_backup_unlock_log: "post-backup-unlock done\n",
    });
    expect(job.start_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
    expect(job.end_time).toMatch(/\+00:00$/);
    expect(job).not.toHaveProperty("error_message");
  });

  it("stops at a failing phase: FAILED with the exit status and that phase's stderr", async () => {
    const dir = await scripts("failing", {
      backup: 'echo "Access denied for user $BACKUP_USERNAME" >&2; exit 3',
    });
    const { client } = await startAgent(dir);
    await client().POST("/backup", { body: backupRequest("job-fail") });

    const job = await pollUntilDone(client(), "job-fail");
    expect(job).toMatchObject({
      status: "FAILED",
      message: "backup failed",
      error_message: "exit status 3",
      filename: "",
      backup_log: "",
      backup_errorlog: "Access denied for user backup\n",
    });
    expect(job).not.toHaveProperty("backup_cleanup_log");
    expect(job).not.toHaveProperty("post_backup_unlock_log");
  });

  it("answers a second trigger of an id with 409 and the job's poll body", async () => {
    const { client } = await startAgent(await scripts("twice"));
    await client().POST("/backup", { body: backupRequest("job-twice") });
    const again = await client().POST("/backup", { body: backupRequest("job-twice") });
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ type: "S3", bucket: "backups" });
  });

  it("refuses a job beyond max_job_number with 429 and Retry-After", async () => {
    const { client } = await startAgent(await scripts("slow", { backup: "exec sleep 30" }), 1);
    await client().POST("/backup", { body: backupRequest("job-slow") });
    const refused = await client().POST("/backup", { body: backupRequest("job-second") });
    expect(refused.response.status).toBe(429);
    expect(refused.response.headers.get("retry-after")).toBe("5");
    expect(refused.error).toMatchObject({ state: "Job reservation" });

    // Deleting the record stops its script and frees the slot.
    expect((await client().DELETE("/backup", { body: { id: "job-slow" } })).response.status).toBe(
      200,
    );
    const next = await client().POST("/backup", { body: backupRequest("job-second") });
    expect(next.response.status).toBe(201);
    await client().DELETE("/backup", { body: { id: "job-second" } });
  });

  it("stops what a phase script started when its job is deleted, not only the script", async () => {
    const pidFile = path.join(root, "orphan.pid");
    const { client } = await startAgent(
      await scripts("orphan", { backup: `sleep 300 & echo $! > ${pidFile}; wait` }),
    );
    await client().POST("/backup", { body: backupRequest("job-orphan") });
    const child = await pidWritten(pidFile);
    expect(exited(child)).toBe(false);

    const deleted = await client().DELETE("/backup", { body: { id: "job-orphan" } });
    expect(deleted.response.status).toBe(200);
    await until(`sleep ${child} to exit`, async () => (exited(child) ? true : undefined));
  });

  it("kills what ignores SIGTERM once the grace period is over", async () => {
    const pidFile = path.join(root, "stubborn.pid");
    const graceMs = 600;
    const stubborn = `trap "" TERM; echo $$ > ${pidFile}; while :; do sleep 1; done`;
    const { client } = await startAgent(
      await scripts("stubborn", { backup: `sh -c '${stubborn}' & wait` }),
      10,
      graceMs,
    );
    await client().POST("/backup", { body: backupRequest("job-stubborn") });
    const child = await pidWritten(pidFile);

    const deletedAt = Date.now();
    await client().DELETE("/backup", { body: { id: "job-stubborn" } });
    await until(`sh ${child} to exit`, async () => (exited(child) ? true : undefined));
    // SIGTERM left it running: only the SIGKILL after the grace period ended it.
    expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(graceMs - 50);
  });

  it("forgets a deleted job: its poll is 404, a second delete 410", async () => {
    const { client } = await startAgent(await scripts("forget"));
    await client().POST("/backup", { body: backupRequest("job-forget") });
    await pollUntilDone(client(), "job-forget");

    const deleted = await client().DELETE("/backup", { body: { id: "job-forget" } });
    expect(deleted.response.status).toBe(200);
    const poll = await client().GET("/backup/{id}", { params: { path: { id: "job-forget" } } });
    expect(poll.response.status).toBe(404);
    const again = await client().DELETE("/backup", { body: { id: "job-forget" } });
    expect(again.response.status).toBe(410);
  });
});
