import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { createZeebeBackupClient } from "@stowage/zeebe-backup-client";
import { must, take } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";
import { startZeebeTestServer, type ZeebeTestServer } from "./zeebe-test-server";

/** Short enough for tests; the default is 2 s. */
const POLL_INTERVAL_MS = 50;

let t: TestController;
let zeebe: ZeebeTestServer;
/** Controllers a test starts for itself (settings other than `t`'s), stopped after it. */
const ownControllers: { controller: TestController; keepData: boolean }[] = [];

beforeAll(async () => {
  t = await startTestController();
});

afterAll(async () => {
  await t.stop();
});

afterEach(async () => {
  await zeebe.close();
  for (const { controller, keepData } of ownControllers.splice(0)) {
    await controller.stop({ keepData });
  }
});

/** A controller of this test's own; `keepData` leaves its directory to a restart. */
async function ownController(
  overrides: Parameters<typeof startTestController>[0],
  keepData = false,
): Promise<TestController> {
  const controller = await startTestController(overrides);
  ownControllers.push({ controller, keepData });
  return controller;
}

/** Stops a controller of the test's own and keeps its data for the next one. */
async function stopKeepingData(controller: TestController): Promise<void> {
  ownControllers.splice(
    ownControllers.findIndex((own) => own.controller === controller),
    1,
  );
  await controller.stop({ keepData: true });
}

async function zeebeDeployment(
  url: string,
  retention: { keep_last?: number } = {},
  controller = t,
) {
  return must(
    await controller.client().POST("/v1/deployments", {
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

async function jobOf(id: string, controller = t) {
  return must(await controller.client().GET("/v1/jobs/{job}", { params: { path: { job: id } } }));
}

/** The job once it ended, read through the control API. */
async function endedJob(id: string, controller = t) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const job = await jobOf(id, controller);
    if (job.status !== "QUEUED" && job.status !== "RUNNING") return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function backupOf(deployment: string, backup: string, controller = t) {
  return must(
    await controller.client().GET("/v1/deployments/{deployment}/backups/{backup}", {
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

/** Waits until `check` holds, polling every 20 ms for up to 5 s. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the driver polled the backup: its partitions show as IN_PROGRESS parts. */
async function polledInProgress(deployment: string, backup: string, controller: TestController) {
  await until(
    async () => (await backupOf(deployment, backup, controller)).parts.length > 0,
    "the partitions show as parts",
  );
  const running = await backupOf(deployment, backup, controller);
  expect(running.state).toBe("IN_PROGRESS");
}

/** The body of the deployment's `job_failed` event: the job's structured failure. */
async function failureOf(deployment: string, controller: TestController) {
  const events = must(
    await controller.client().requestAs("get", "/v1/events", "application/json", {
      params: { query: { deployment, op: "job_failed" } },
    }),
  );
  expect(events.items).toHaveLength(1);
  return events.items[0]?.body;
}

describe("zeebe driver time limit", () => {
  it("fails a backup still IN_PROGRESS at its time limit, the catalog entry with it", async () => {
    const controller = await ownController({
      zeebeBackupTimeoutMs: 1000,
      zeebeDriver: { pollIntervalMs: POLL_INTERVAL_MS },
    });
    zeebe = await startZeebeTestServer({ partitions: 2, stepMs: 60_000 });
    const deployment = await zeebeDeployment(zeebe.url, {}, controller);

    const queued = await take(controller.client(), deployment.name);
    const job = await endedJob(queued.id, controller);

    const reason =
      "Zeebe backup 1 did not complete within its time limit of 1 second (0 of 2 partitions completed); the cluster keeps it, where Zeebe's own list shows it.";
    expect(job).toMatchObject({ status: "FAILED", error_message: reason });
    expect(job.phases).toEqual([expect.objectContaining({ name: "backup", status: "FAILED" })]);
    expect(await failureOf(deployment.id, controller)).toMatchObject({
      code: "job.failed",
      phase: "backup",
      message: reason,
    });
    const backup = await backupOf(deployment.id, queued.backup_id ?? "", controller);
    expect(backup).toMatchObject({ state: "FAILED", failure_reason: reason });
    expect(zeebe.taken).toEqual([1]);
  });
});

describe("zeebe driver restarts and outages", () => {
  it("resumes polling a backup after a controller restart, without taking another", async () => {
    const settings = { zeebeDriver: { pollIntervalMs: POLL_INTERVAL_MS } };
    const first = await ownController(settings, true);
    zeebe = await startZeebeTestServer({ partitions: 2, stepMs: 60_000 });
    const deployment = await zeebeDeployment(zeebe.url, {}, first);
    const queued = await take(first.client(), deployment.name);
    await polledInProgress(deployment.id, queued.backup_id ?? "", first);

    await stopKeepingData(first);
    // The default lease (90 s) outlasts the test: only an adoption at start can finish the job.
    const second = await ownController({ ...settings, dataDir: first.dataDir });
    await until(
      async () => (await jobOf(queued.id, second)).phases[0]?.log.includes("Resuming") ?? false,
      "the restarted driver resumes the job",
    );
    expect((await jobOf(queued.id, second)).status).toBe("RUNNING");
    zeebe.finish(1);
    const job = await endedJob(queued.id, second);

    expect(job).toMatchObject({ status: "SUCCEEDED", attempt: 1, agent_id: "driver:zeebe" });
    expect(job.phases[0]?.log).toContain("Resuming Zeebe backup 1 after a controller restart.");
    const backup = await backupOf(deployment.id, queued.backup_id ?? "", second);
    expect(backup).toMatchObject({ state: "COMPLETED", sequence: 1 });
    expect(backup.parts.map((part) => part.state)).toEqual(["COMPLETED", "COMPLETED"]);
    // The restart re-sent the same id, which Zeebe refused (409): one backup on the cluster.
    expect(zeebe.taken).toEqual([1]);
  });

  it("waits out a gateway outage shorter than the time limit", async () => {
    const controller = await ownController({
      zeebeBackupTimeoutMs: 60_000,
      zeebeDriver: { pollIntervalMs: POLL_INTERVAL_MS },
    });
    zeebe = await startZeebeTestServer({ partitions: 2, stepMs: 60_000 });
    const deployment = await zeebeDeployment(zeebe.url, {}, controller);
    const queued = await take(controller.client(), deployment.name);
    await polledInProgress(deployment.id, queued.backup_id ?? "", controller);

    await zeebe.goDown();
    await until(
      async () =>
        (await jobOf(queued.id, controller)).phases[0]?.log.includes(
          "The Zeebe gateway cannot be reached",
        ) ?? false,
      "the job reports the outage",
    );
    // Many polls fail meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 20 * POLL_INTERVAL_MS));
    expect((await jobOf(queued.id, controller)).status).toBe("RUNNING");
    await zeebe.comeBack();
    zeebe.finish(1);
    const job = await endedJob(queued.id, controller);

    expect(job.status).toBe("SUCCEEDED");
    expect(job.phases[0]?.log).toMatch(/retrying until the time limit at \S+Z\./);
    expect(zeebe.taken).toEqual([1]);
    const backup = await backupOf(deployment.id, queued.backup_id ?? "", controller);
    expect(backup.state).toBe("COMPLETED");
  });

  it("fails the job when the gateway is still unreachable at the time limit", async () => {
    const controller = await ownController({
      zeebeBackupTimeoutMs: 1000,
      zeebeDriver: { pollIntervalMs: POLL_INTERVAL_MS },
    });
    zeebe = await startZeebeTestServer({ partitions: 1, stepMs: 60_000 });
    const deployment = await zeebeDeployment(zeebe.url, {}, controller);
    const queued = await take(controller.client(), deployment.name);
    await polledInProgress(deployment.id, queued.backup_id ?? "", controller);

    await zeebe.goDown();
    const job = await endedJob(queued.id, controller);

    expect(job.status).toBe("FAILED");
    expect(job.error_message).toMatch(
      /^The Zeebe gateway has been unreachable since \S+Z \(.+\) and the backup's time limit of 1 second has passed\.$/,
    );
    expect(await failureOf(deployment.id, controller)).toMatchObject({
      phase: "backup",
      message: job.error_message,
    });
    const backup = await backupOf(deployment.id, queued.backup_id ?? "", controller);
    expect(backup).toMatchObject({ state: "FAILED", failure_reason: job.error_message });
  });

  it("carries out after a restart a cluster delete that failed while the gateway was down", async () => {
    // Longer than the first controller lives after the failure: only the second one retries.
    const settings = {
      zeebeDriver: { pollIntervalMs: POLL_INTERVAL_MS, deleteRetryDelaysMs: [1500] },
    };
    const first = await ownController(settings, true);
    zeebe = await startZeebeTestServer({ partitions: 1, stepMs: 10 });
    const deployment = await zeebeDeployment(zeebe.url, {}, first);
    const queued = await take(first.client(), deployment.name);
    expect((await endedJob(queued.id, first)).status).toBe("SUCCEEDED");

    await zeebe.goDown();
    must(
      await first.client().DELETE("/v1/deployments/{deployment}/backups/{backup}", {
        params: { path: { deployment: deployment.name, backup: queued.backup_id ?? "" } },
      }),
    );
    await until(
      () => first.logs.some((line) => line.includes("could not delete a tombstoned backup")),
      "the first attempt failed",
    );
    await stopKeepingData(first);
    await zeebe.comeBack();
    expect(zeebe.held()).toEqual([1]);

    const second = await ownController({ ...settings, dataDir: first.dataDir }, true);
    await clusterHolds([]);
    // Logged once the cluster's answer arrived, so after it deleted; and before the record goes.
    await until(
      () => second.logs.some((line) => line.includes("deleted a tombstoned backup")),
      "the second controller logs the delete",
    );

    await stopKeepingData(second);
    const db = new Database(path.join(second.dataDir, "stowage.db"), { readonly: true });
    try {
      const pending = db.prepare("SELECT count(*) AS n FROM zeebe_pending_deletes").get();
      expect(pending).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    await rm(second.dataDir, { recursive: true, force: true });
  });
});
