import { setTimeout as sleep } from "node:timers/promises";
import { createZeebeBackupClient } from "@stowage/zeebe-backup-client";
import { startZeebeTestServer, type ZeebeTestServer } from "./zeebe-test-server";

let zeebe: ZeebeTestServer;

afterEach(async () => {
  await zeebe.close();
});

function clientOf(server: ZeebeTestServer) {
  return createZeebeBackupClient({ baseUrl: server.url, retry: false });
}

describe("the Zeebe test server", () => {
  it("moves each partition from IN_PROGRESS to COMPLETED", async () => {
    zeebe = await startZeebeTestServer({ partitions: 2, stepMs: 100 });
    const client = clientOf(zeebe);

    const taken = await client.POST("/", { body: { backupId: 5 } });
    expect(taken.response.status).toBe(202);
    const first = await client.GET("/{backupId}", { params: { path: { backupId: 5 } } });
    expect(first.data).toMatchObject({
      backupId: 5,
      state: "IN_PROGRESS",
      details: [
        { partitionId: 1, state: "IN_PROGRESS" },
        { partitionId: 2, state: "IN_PROGRESS" },
      ],
    });

    await sleep(250);
    const done = await client.GET("/{backupId}", { params: { path: { backupId: 5 } } });
    expect(done.data).toMatchObject({
      state: "COMPLETED",
      details: [
        { partitionId: 1, state: "COMPLETED", snapshotId: expect.any(String) },
        { partitionId: 2, state: "COMPLETED", snapshotId: expect.any(String) },
      ],
    });
  });

  it("refuses an id not higher than the last with 409, even after a delete", async () => {
    zeebe = await startZeebeTestServer();
    const client = clientOf(zeebe);
    expect((await client.POST("/", { body: { backupId: 7 } })).response.status).toBe(202);
    expect(
      (await client.DELETE("/{backupId}", { params: { path: { backupId: 7 } } })).response.status,
    ).toBe(204);

    for (const backupId of [7, 3]) {
      const refused = await client.POST("/", { body: { backupId } });
      expect(refused.response.status).toBe(409);
      expect(refused.error).toEqual({ message: expect.stringContaining("expected a higher id") });
    }
    expect((await client.POST("/", { body: { backupId: 8 } })).response.status).toBe(202);
  });

  it("fails the partition it is told to, and lists and deletes backups", async () => {
    zeebe = await startZeebeTestServer({ partitions: 3, stepMs: 20 });
    const client = clientOf(zeebe);
    await client.POST("/", { body: { backupId: 1 } });
    zeebe.failPartition(2, "snapshot could not be copied");
    await client.POST("/", { body: { backupId: 2 } });
    await sleep(100);

    const listed = await client.GET("/");
    expect(listed.data?.map((info) => [info.backupId, info.state])).toEqual([
      [2, "FAILED"],
      [1, "COMPLETED"],
    ]);
    expect(listed.data?.[0]).toMatchObject({
      failureReason: "snapshot could not be copied",
      details: [
        { partitionId: 1, state: "COMPLETED" },
        { partitionId: 2, state: "FAILED", failureReason: "snapshot could not be copied" },
        { partitionId: 3, state: "COMPLETED" },
      ],
    });

    await client.DELETE("/{backupId}", { params: { path: { backupId: 1 } } });
    const gone = await client.GET("/{backupId}", { params: { path: { backupId: 1 } } });
    expect(gone.response.status).toBe(404);
    expect(zeebe.held()).toEqual([2]);
  });
});
