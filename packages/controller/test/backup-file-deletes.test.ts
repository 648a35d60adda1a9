/**
 * `delete` jobs: a tombstone on a pull deployment (an operator's DELETE, retention's prune) queues
 * one in its transaction, handed over the agent API only to a claim that names `delete`; its
 * completion is a `backup_files_removed` event or a FAILED job, and the backup stays tombstoned
 * either way. Delete jobs never count against the deployment's job limit.
 */
import { createHash, randomUUID } from "node:crypto";
import type { components } from "@stowage/control-client";
import type { Stores } from "../src/services/control-context";
import type { Db } from "../src/store/database";
import { enrollTestAgent, type TestAgent } from "./agent-fixture";
import { must, secondConnection } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

type DeploymentCreate = components["schemas"]["DeploymentCreate"];

const JOB_LIMIT = 2;

let t: TestController;
let db: Db;
let stores: Stores;
let agent: TestAgent;
let targetId: string;

beforeAll(async () => {
  t = await startTestController({ maxJobsPerDeployment: JOB_LIMIT });
  ({ db, stores } = secondConnection(t));
  agent = await enrollTestAgent(t);
  targetId = must(
    await t.client().POST("/v1/targets", {
      body: { type: "file", name: "disk", url: "file:///var/backups/stowage" },
    }),
  ).id;
});
afterAll(async () => {
  db.close();
  await t.stop();
});

async function pullDeployment(extra: Partial<DeploymentCreate> = {}) {
  return must(
    await t.client().POST("/v1/deployments", {
      body: {
        name: `db-${randomUUID().slice(0, 8)}`,
        kind: "sqlite",
        connection: { path: "/srv/app.db" },
        driver: { type: "pull", agent_id: agent.instance },
        target_ids: [targetId],
        ...extra,
      },
    }),
  );
}

function claim(deployment: string, kinds?: components["schemas"]["JobKind"][]) {
  return agent.client.POST("/engines/jobs/{instance}/claim", {
    params: { path: { instance: agent.instance }, query: { wait: 0 } },
    body: { deployments: [deployment], ...(kinds ? { kinds } : {}) },
  });
}

function complete(job: string, body: Parameters<typeof completion>[0]) {
  return agent.client.POST("/engines/jobs/{instance}/{job}/complete", {
    params: { path: { instance: agent.instance, job } },
    body: completion(body),
  });
}

function completion(
  outcome: { manifest: { size_bytes: number; sha256: string; location: string } } | string,
) {
  const at = new Date().toISOString();
  return typeof outcome === "string"
    ? { outcome: "failed" as const, finished_at: at, phase: "delete", message: outcome }
    : {
        outcome: "succeeded" as const,
        manifest: { ...outcome.manifest, started_at: at, finished_at: at, timings: [] },
      };
}

/** Takes a backup and completes it over the agent API; answers it and what it stored. */
async function storedBackup(deployment: string, level: "full" | "incremental" = "full") {
  const taken = await t
    .client()
    .requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
      params: { path: { deployment } },
      body: { level },
    });
  const job = taken.data?.result;
  if (!job) throw new Error(JSON.stringify(taken.error));
  expect((await claim(deployment, ["backup"])).data?.id).toBe(job.id);
  const manifest = {
    size_bytes: 1000 + Math.floor(Math.random() * 1000),
    sha256: createHash("sha256").update(randomUUID()).digest("hex"),
    location: `file:///var/backups/stowage/${deployment}/${randomUUID()}.sqlite.gz`,
  };
  expect((await complete(job.id, { manifest })).response.status).toBe(200);
  return { id: job.backup_id ?? "", sequence: job.sequence ?? 0, ...manifest };
}

async function deleteBackup(deployment: string, backup: string) {
  return must(
    await t.client().DELETE("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment, backup } },
    }),
  );
}

async function deleteJobs(deployment: string) {
  return must(
    await t.client().GET("/v1/jobs", {
      params: { query: { deployment, kind: "delete", limit: 1000 } },
    }),
  ).items;
}

async function jobEvents(job: string) {
  const frames = [];
  for await (const frame of t
    .client()
    .streamNdjson("get", "/v1/jobs/{job}/events", { params: { path: { job } } })) {
    frames.push(frame);
  }
  return frames;
}

describe("an operator's delete of a pull deployment's backup", () => {
  it("queues a delete job that only a claim naming `delete` is handed, and records its success", async () => {
    const deployment = await pullDeployment();
    const backup = await storedBackup(deployment.name);
    expect((await deleteBackup(deployment.name, backup.id)).deleted).not.toBeNull();

    const [queued] = await deleteJobs(deployment.id);
    expect(await deleteJobs(deployment.id)).toHaveLength(1);
    expect(queued).toMatchObject({
      kind: "delete",
      status: "QUEUED",
      trigger: "manual",
      backup_id: backup.id,
      sequence: backup.sequence,
    });

    // A claim without kinds, or with every other kind, is not handed it.
    expect((await claim(deployment.name)).response.status).toBe(204);
    expect((await claim(deployment.name, ["backup", "restore", "verify"])).response.status).toBe(
      204,
    );
    const claimedAt = Date.now();
    const claimed = await claim(deployment.name, ["backup", "delete"]);
    // The lease runs from the claim, for the job lease (90 s by default).
    const leaseEnd = Date.parse(claimed.data?.lease_expires_at ?? "");
    expect(leaseEnd).toBeGreaterThan(claimedAt);
    expect(leaseEnd).toBeLessThanOrEqual(Date.now() + 90_000);
    expect(claimed.data).toEqual({
      id: queued.id,
      kind: "delete",
      deployment: deployment.name,
      attempt: 1,
      created_at: queued.created_at,
      lease_expires_at: claimed.data?.lease_expires_at,
      backup: {
        id: backup.id,
        sequence: backup.sequence,
        sha256: backup.sha256,
        size_bytes: backup.size_bytes,
        locations: [backup.location],
      },
    });

    const done = await complete(queued.id, {
      manifest: { size_bytes: backup.size_bytes, sha256: backup.sha256, location: backup.location },
    });
    expect(done.data).toMatchObject({ job: queued.id, kind: "delete", state: "succeeded" });
    const job = must(
      await t.client().GET("/v1/jobs/{job}", { params: { path: { job: queued.id } } }),
    );
    expect(job).toMatchObject({ status: "SUCCEEDED", message: "backup files removed" });
    const outcome = (await jobEvents(queued.id)).find((event) => event.final);
    expect(outcome).toMatchObject({
      op: "backup_files_removed",
      severity: "notice",
      subject: { backup: backup.id, job: queued.id },
      body: { sequence: backup.sequence, removed_bytes: backup.size_bytes },
    });
    const after = must(
      await t.client().GET("/v1/deployments/{deployment}/backups/{backup}", {
        params: { path: { deployment: deployment.name, backup: backup.id } },
      }),
    );
    expect(after.deleted).toMatchObject({ by: expect.stringMatching(/^token:/) });
  });

  it("records a removal the agent refused as a FAILED job with its message; the backup stays tombstoned", async () => {
    const deployment = await pullDeployment();
    const backup = await storedBackup(deployment.name);
    await deleteBackup(deployment.name, backup.id);
    const claimed = await claim(deployment.name, ["delete"]);
    const message = `refused to delete ${backup.location}: it is not a regular file`;
    expect((await complete(claimed.data?.id ?? "", message)).data?.state).toBe("failed");

    const [job] = await deleteJobs(deployment.id);
    expect(job).toMatchObject({ status: "FAILED", error_message: message });
    expect((await jobEvents(job.id)).find((event) => event.final)).toMatchObject({
      op: "job_failed",
      body: { message },
    });
    const after = must(
      await t.client().GET("/v1/deployments/{deployment}/backups/{backup}", {
        params: { path: { deployment: deployment.name, backup: backup.id } },
      }),
    );
    expect(after.deleted).not.toBeNull();
  });

  it("queues none for a backup that stored nothing", async () => {
    const deployment = await pullDeployment();
    const taken = await t
      .client()
      .requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
        params: { path: { deployment: deployment.name } },
        body: {},
      });
    const job = taken.data?.result;
    expect((await claim(deployment.name, ["backup"])).data?.id).toBe(job?.id);
    expect((await complete(job?.id ?? "", "disk full")).data?.state).toBe("failed");
    await deleteBackup(deployment.name, job?.backup_id ?? "");
    expect(await deleteJobs(deployment.id)).toEqual([]);
  });

  it("keeps a full backup's files while an incremental builds on it, and removes both once it goes", async () => {
    const deployment = await pullDeployment();
    const full = await storedBackup(deployment.name);
    const incremental = await storedBackup(deployment.name, "incremental");
    await deleteBackup(deployment.name, full.id);
    expect(await deleteJobs(deployment.id)).toEqual([]);

    await deleteBackup(deployment.name, incremental.id);
    // One transaction queues both: within a millisecond, job ids do not order them.
    const removals = (await deleteJobs(deployment.id)).map((job) => job.backup_id);
    expect(removals.sort()).toEqual([incremental.id, full.id].sort());
  });
});

describe("retention on a pull deployment", () => {
  it("queues a delete job for each backup it prunes, and none for a held one", async () => {
    const deployment = await pullDeployment({ retention: { keep_last: 1 } });
    const held = await storedBackup(deployment.name);
    must(
      await t.client().POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
        params: { path: { deployment: deployment.name, backup: held.id } },
        body: { reason: "audit" },
      }),
    );
    const second = await storedBackup(deployment.name);
    // The held first backup outlives keep_last: nothing was pruned, nothing is to remove.
    expect(await deleteJobs(deployment.id)).toEqual([]);

    await storedBackup(deployment.name);
    const queued = await deleteJobs(deployment.id);
    expect(queued).toEqual([
      expect.objectContaining({
        kind: "delete",
        status: "QUEUED",
        trigger: "retention",
        backup_id: second.id,
      }),
    ]);
    expect((await claim(deployment.name, ["delete"])).data).toMatchObject({
      backup: { id: second.id, locations: [second.location] },
    });
  });
});

describe("the job limit", () => {
  it("counts no delete job, and refuses no tombstone at the limit", async () => {
    const deployment = await pullDeployment();
    const backups = [];
    for (let index = 0; index <= JOB_LIMIT; index++) {
      backups.push(await storedBackup(deployment.name));
    }
    for (const backup of backups) await deleteBackup(deployment.name, backup.id);
    expect((await deleteJobs(deployment.id)).map((job) => job.status)).toEqual(
      backups.map(() => "QUEUED"),
    );

    const take = () =>
      t.client().requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
        params: { path: { deployment: deployment.name } },
        body: {},
      });
    for (let index = 0; index < JOB_LIMIT; index++) {
      expect((await take()).response.status).toBe(202);
    }
    const refused = await take();
    expect(refused.response.status).toBe(429);
    expect(refused.error).toMatchObject({
      error: {
        code: "rate.limited",
        message: expect.stringContaining(`already has ${JOB_LIMIT} queued or running`),
      },
    });
  });
});

describe("a deployment the controller drives", () => {
  it("gets no delete job when a stored backup is deleted", async () => {
    const deployment = must(
      await t.client().POST("/v1/deployments", {
        body: {
          name: `zeebe-${randomUUID().slice(0, 8)}`,
          kind: "zeebe",
          driver: { type: "zeebe", url: "http://127.0.0.1:9/actuator/backups" },
        },
      }),
    );
    const at = new Date().toISOString();
    const backupId = `bak_${randomUUID().replace(/-/g, "")}`;
    stores.backups.insert({
      id: backupId,
      tenant_id: deployment.tenant_id,
      deployment_id: deployment.id,
      deployment_name: deployment.name,
      sequence: 1,
      level: "full",
      parent_id: null,
      session_id: backupId,
      state: "COMPLETED",
      failure_reason: null,
      trigger: "manual",
      job_id: null,
      metadata: "{}",
      uncompressed_bytes: null,
      compressed_bytes: null,
      stored_bytes: 10,
      session_total_bytes: 10,
      sha256: createHash("sha256").update(backupId).digest("hex"),
      locations: JSON.stringify([{ target_id: "", url: "file:///elsewhere/1" }]),
      queued_at: at,
      started_at: at,
      completed_at: at,
      duration_ms: 0,
      verification: null,
      held: 0,
      hold_reason: null,
      held_at: null,
      deleted_at: null,
      deleted_by: null,
      deleted_reason: null,
      created_at: at,
    });
    expect((await deleteBackup(deployment.name, backupId)).deleted).not.toBeNull();
    expect(await deleteJobs(deployment.id)).toEqual([]);
  });
});
