import { once } from "node:events";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
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

async function startAgent(scriptsDir: string, maxJobs = 10) {
  const workDir = await mkdtemp(path.join(root, "work-"));
  const { app, jobs, ready } = createScriptAgentApp({
    credentials,
    scriptsDir,
    workDir,
    maxJobs,
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
