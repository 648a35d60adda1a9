import { randomUUID } from "node:crypto";
import { createZeebeBackupClient } from "@stowage/zeebe-backup-client";
import { must, take } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";
import { startZeebeTestServer, type ZeebeTestServer } from "./zeebe-test-server";

let t: TestController;
let zeebe: ZeebeTestServer;

beforeAll(async () => {
  t = await startTestController();
});

afterAll(async () => {
  await t.stop();
});

afterEach(async () => {
  await zeebe.close();
});

async function zeebeDeployment(url: string, retention: { keep_last?: number } = {}) {
  return must(
    await t.client().POST("/v1/deployments", {
      body: {
        name: `zeebe-${randomUUID().slice(0, 8)}`,
        kind: "zeebe",
        driver: { type: "zeebe", url },
        retention,
      },
    }),
  );
}

/** Waits for the cluster to hold exactly `ids`: the driver deletes after the catalog committed. */
async function clusterHolds(ids: number[]) {
  const deadline = Date.now() + 5000;
  while (JSON.stringify(zeebe.held()) !== JSON.stringify(ids) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(zeebe.held()).toEqual(ids);
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

describe("zeebe driver", () => {
  it("runs a backup through the cluster to COMPLETED, one part per partition", async () => {
    zeebe = await startZeebeTestServer({ partitions: 3, stepMs: 50 });
    const deployment = await zeebeDeployment(zeebe.url);

    const queued = await take(t.client(), deployment.name);
    const job = await endedJob(queued.id);

    expect(job).toMatchObject({ status: "SUCCEEDED", agent_id: "driver:zeebe" });
    const backup = await backupOf(deployment.id, queued.backup_id ?? "");
    expect(backup).toMatchObject({ state: "COMPLETED", sequence: 1, sha256: null });
    // The Zeebe backup id is the catalog's sequence.
    expect(zeebe.taken).toEqual([backup.sequence]);
    expect(backup.parts).toEqual(
      [1, 2, 3].map((partition) =>
        expect.objectContaining({
          name: `partition-${partition}`,
          state: "COMPLETED",
          failure_reason: null,
          details: expect.objectContaining({
            partition_id: partition,
            snapshot_id: expect.any(String),
            broker_version: "8.5.0",
          }),
        }),
      ),
    );
    expect(backup.locations[0]?.url).toBe(`${zeebe.url}/1`);
  });

  it("takes each backup under its sequence, as named or the next one", async () => {
    zeebe = await startZeebeTestServer({ partitions: 1, stepMs: 10 });
    const deployment = await zeebeDeployment(zeebe.url);

    const named = must(
      await t
        .client()
        .requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
          params: { path: { deployment: deployment.name } },
          body: { sequence: 41 },
        }),
    );
    expect((await endedJob(named.id)).status).toBe("SUCCEEDED");
    const next = await take(t.client(), deployment.name);
    expect((await endedJob(next.id)).status).toBe("SUCCEEDED");

    expect(zeebe.taken).toEqual([41, 42]);
  });

  it("fails the job and the backup with the failing partition's reason", async () => {
    zeebe = await startZeebeTestServer({ partitions: 3, stepMs: 50 });
    zeebe.failPartition(2, "snapshot could not be copied");
    const deployment = await zeebeDeployment(zeebe.url);

    const queued = await take(t.client(), deployment.name);
    const job = await endedJob(queued.id);

    expect(job).toMatchObject({
      status: "FAILED",
      error_message: "partition 2 failed: snapshot could not be copied",
    });
    const backup = await backupOf(deployment.id, queued.backup_id ?? "");
    expect(backup).toMatchObject({
      state: "FAILED",
      failure_reason: "partition 2 failed: snapshot could not be copied",
    });
    expect(backup.parts.map((part) => [part.name, part.state])).toEqual([
      ["partition-1", "COMPLETED"],
      ["partition-2", "FAILED"],
      ["partition-3", "COMPLETED"],
    ]);
  });

  it("fails the job when the cluster already holds a higher backup id", async () => {
    zeebe = await startZeebeTestServer({ partitions: 1, stepMs: 10 });
    const taken = await createZeebeBackupClient({ baseUrl: zeebe.url, retry: false }).POST("/", {
      body: { backupId: 50 },
    });
    expect(taken.response.status).toBe(202);
    const deployment = await zeebeDeployment(zeebe.url);

    const queued = await take(t.client(), deployment.name);
    const job = await endedJob(queued.id);

    expect(job.status).toBe("FAILED");
    expect(job.error_message).toMatch(
      /^Zeebe refused backup id 1 \(409: .*\); take the next backup with a sequence above/,
    );
    expect(zeebe.taken).toEqual([50]);
  });

  it("deletes the cluster's backup when the job is cancelled while it runs", async () => {
    zeebe = await startZeebeTestServer({ partitions: 2, stepMs: 60_000 });
    const deployment = await zeebeDeployment(zeebe.url);
    const queued = await take(t.client(), deployment.name);
    // While it runs, the backup's parts are the partitions as the last poll saw them.
    const deadline = Date.now() + 5000;
    for (;;) {
      const running = await backupOf(deployment.id, queued.backup_id ?? "");
      const parts = running.parts.map((part) => [part.name, part.state]);
      if (parts.length === 2) {
        expect(running.state).toBe("IN_PROGRESS");
        expect(parts).toEqual([
          ["partition-1", "IN_PROGRESS"],
          ["partition-2", "IN_PROGRESS"],
        ]);
        break;
      }
      if (Date.now() > deadline) throw new Error("the partitions never showed as parts");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(zeebe.held()).toEqual([1]);

    must(await t.client().POST("/v1/jobs/{job}/cancel", { params: { path: { job: queued.id } } }));
    const job = await endedJob(queued.id);

    expect(job.status).toBe("CANCELLED");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(zeebe.held()).toEqual([]);
  });

  it("deletes on the cluster a backup deleted in the catalog", async () => {
    zeebe = await startZeebeTestServer({ partitions: 1, stepMs: 10 });
    const deployment = await zeebeDeployment(zeebe.url);
    const first = await take(t.client(), deployment.name);
    expect((await endedJob(first.id)).status).toBe("SUCCEEDED");
    const second = await take(t.client(), deployment.name);
    expect((await endedJob(second.id)).status).toBe("SUCCEEDED");
    expect(zeebe.held()).toEqual([1, 2]);

    must(
      await t.client().DELETE("/v1/deployments/{deployment}/backups/{backup}", {
        params: { path: { deployment: deployment.name, backup: first.backup_id ?? "" } },
      }),
    );

    await clusterHolds([2]);
  });

  it("deletes on the cluster the backups retention prunes", async () => {
    zeebe = await startZeebeTestServer({ partitions: 1, stepMs: 10 });
    const deployment = await zeebeDeployment(zeebe.url, { keep_last: 1 });
    for (let i = 0; i < 3; i += 1) {
      const queued = await take(t.client(), deployment.name);
      expect((await endedJob(queued.id)).status).toBe("SUCCEEDED");
    }

    await clusterHolds([3]);
    expect(zeebe.taken).toEqual([1, 2, 3]);
  });
});
