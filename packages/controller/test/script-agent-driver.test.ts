import { once } from "node:events";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { BACKUP_PHASES, createScriptAgentApp } from "../../../examples/script-agent/src";
import { openDatabase } from "../src/store/database";
import { must, take } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

const credentials = { username: "admin", password: "basic-s3cret" };
const ENCRYPTION_KEY = "controller-side-key";

let root: string;
let keyFile: string;
let t: TestController;
const servers: Server[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "script-agent-driver-"));
  keyFile = path.join(root, "orders.key");
  await writeFile(keyFile, `${ENCRYPTION_KEY}\n`, { mode: 0o600 });
  t = await startTestController();
});

afterAll(async () => {
  await t.stop();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await rm(root, { recursive: true, force: true });
});

/**
 * A script agent whose phases echo their name; `backup` writes the file, after checking the key
 * the controller resolved from the deployment's key_ref. `bodies` replaces a phase's script.
 */
async function startScriptAgent(bodies: Partial<Record<string, string>> = {}) {
  const scriptsDir = path.join(root, `scripts-${randomUUID()}`);
  await mkdir(scriptsDir);
  const defaults: Record<string, string> = {
    backup: `[ "$ENCRYPTION_KEY" = "${ENCRYPTION_KEY}" ] || exit 9\necho "dumping $BACKUP_DATABASE"\necho data > "$BACKUP_FILE"`,
  };
  for (const phase of BACKUP_PHASES) {
    const file = path.join(scriptsDir, phase);
    await writeFile(
      file,
      `#!/bin/sh\n${bodies[phase] ?? defaults[phase] ?? `echo "${phase} done"`}\n`,
    );
    await chmod(file, 0o755);
  }
  const workDir = await mkdtemp(path.join(root, "work-"));
  const { app, jobs, ready } = createScriptAgentApp({
    credentials,
    scriptsDir,
    workDir,
    maxJobs: 10,
    validateResponses: true,
  });
  await ready();
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  server.on("close", () => jobs.close());
  await once(server, "listening");
  return { jobs, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function scriptAgentDeployment(agentUrl: string) {
  const client = t.client();
  const suffix = randomUUID().slice(0, 8);
  const created = await client.POST("/v1/targets", {
    body: {
      type: "s3",
      name: `bucket-${suffix}`,
      url: "s3://backups/orders",
      endpoint: "http://127.0.0.1:9000",
      access_key_id: "AKIAEXAMPLE",
      secret_access_key: "s3-secret",
    },
  });
  return must(
    await client.POST("/v1/deployments", {
      body: {
        name: `orders-${suffix}`,
        kind: "mysql",
        connection: {
          host: "db.internal",
          username: "backup",
          password: "db-pass",
          databases: ["orders"],
        },
        driver: { type: "script-agent", url: agentUrl, ...credentials },
        target_ids: [must(created).id],
        encryption: { algorithm: "aes-256-gcm", key_ref: `file:${keyFile}` },
      },
    }),
  );
}

/** The job once it ended, read through the control API. */
async function endedJob(id: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const job = must(await t.client().GET("/v1/jobs/{job}", { params: { path: { job: id } } }));
    if (job.status !== "QUEUED" && job.status !== "RUNNING") return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function backupOf(deployment: string, backup: string) {
  return must(
    await t.client().GET("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment, backup } },
    }),
  );
}

describe("script-agent driver", () => {
  it("runs a backup through the agent to COMPLETED, with each phase's output in the job", async () => {
    const agent = await startScriptAgent();
    const deployment = await scriptAgentDeployment(agent.url);

    const queued = await take(t.client(), deployment.name);
    const job = await endedJob(queued.id);

    expect(job).toMatchObject({ status: "SUCCEEDED", agent_id: "driver:script-agent" });
    expect(job.phases.map((phase) => [phase.name, phase.status])).toEqual(
      BACKUP_PHASES.map((phase) => [phase, "SUCCEEDED"]),
    );
    expect(job.phases.find((phase) => phase.name === "backup")?.log).toBe("dumping orders\n");
    const backup = await backupOf(deployment.id, queued.backup_id ?? "");
    expect(backup).toMatchObject({ state: "COMPLETED", sha256: null });
    expect(backup.sizes.stored_bytes).toBe(5);
    expect(backup.locations[0]?.url).toMatch(
      /^s3:\/\/backups\/orders\/db\.internal_.*_orders\.tar\.gz$/,
    );
    // The agent's job record is deleted once the job ended.
    expect(agent.jobs.get(queued.id)).toBeUndefined();
  });

  it("fails the job with the failing phase and its stderr", async () => {
    const agent = await startScriptAgent({
      backup: 'echo "dumping"\necho "mysqldump: Access denied for user backup" >&2\nexit 2',
    });
    const deployment = await scriptAgentDeployment(agent.url);

    const queued = await take(t.client(), deployment.name);
    const job = await endedJob(queued.id);

    expect(job).toMatchObject({ status: "FAILED", error_message: "backup failed: exit status 2" });
    expect(job.phases.map((phase) => [phase.name, phase.status])).toEqual([
      ["pre-backup-lock", "SUCCEEDED"],
      ["pre-backup-check", "SUCCEEDED"],
      ["backup", "FAILED"],
    ]);
    const failed = job.phases[2];
    expect(failed.log).toBe("dumping\n");
    expect(failed.error_log).toContain("mysqldump: Access denied for user backup\n");
    expect(await backupOf(deployment.id, queued.backup_id ?? "")).toMatchObject({
      state: "FAILED",
    });
    expect(agent.jobs.get(queued.id)).toBeUndefined();
  });

  it("stops the agent's job when the job is cancelled while it runs", async () => {
    const agent = await startScriptAgent({ backup: "exec sleep 30" });
    const deployment = await scriptAgentDeployment(agent.url);
    const queued = await take(t.client(), deployment.name);
    const deadline = Date.now() + 5000;
    while (agent.jobs.get(queued.id)?.state !== "backup") {
      if (Date.now() > deadline) throw new Error("the backup phase never started");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    must(await t.client().POST("/v1/jobs/{job}/cancel", { params: { path: { job: queued.id } } }));
    const job = await endedJob(queued.id);

    expect(job.status).toBe("CANCELLED");
    // Deleting the record is what stops the script (the agent has no cancel of its own).
    expect(agent.jobs.get(queued.id)).toBeUndefined();
  });

  it("refuses a deployment whose targets the agent cannot store to, sending nothing", async () => {
    const agent = await startScriptAgent();
    const deployment = await scriptAgentDeployment(agent.url);
    const disk = must(
      await t.client().POST("/v1/targets", {
        body: {
          type: "file",
          name: `disk-${randomUUID().slice(0, 8)}`,
          url: "file:///var/backups",
        },
      }),
    );
    // The API refuses these targets now; a deployment stored before that rule still has them,
    // and the driver's own check is what stops its job.
    const db = openDatabase(path.join(t.dataDir, "stowage.db"));
    try {
      db.prepare("UPDATE deployments SET target_ids = ? WHERE id = ?").run(
        JSON.stringify([disk.id]),
        deployment.id,
      );
    } finally {
      db.close();
    }

    const queued = await take(t.client(), deployment.name);
    const job = await endedJob(queued.id);

    expect(job.status).toBe("FAILED");
    expect(job.error_message).toMatch(/stores backups in S3 or Swift/);
    expect(agent.jobs.get(queued.id)).toBeUndefined();
  });
});
