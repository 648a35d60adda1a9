/**
 * The spec's deleteDeployment: a deleted deployment's backups "belong to a deployment of the same
 * name created later". Re-creating the name adopts them, and sequences carry on from theirs.
 */
import type { Stores } from "../src/services/control-context";
import type { Db } from "../src/store/database";
import {
  cancelQueuedFileDeletes,
  completedBackup,
  must,
  pullSetup,
  secondConnection,
  take,
} from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
let db: Db;
let stores: Stores;

beforeAll(async () => {
  t = await startTestController();
  ({ db, stores } = secondConnection(t));
});
afterAll(async () => {
  db.close();
  await t.stop();
});

async function backupsOf(deployment: string, client = t.client()) {
  const page = must(
    await client.GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment }, query: { include_deleted: true } },
    }),
  );
  return page.items;
}

async function deleteDeployment(name: string) {
  const removed = await t.client().DELETE("/v1/deployments/{deployment}", {
    params: { path: { deployment: name } },
  });
  expect(removed.response.status).toBe(204);
}

async function recreate(name: string, agentId: string, targetId: string) {
  return t.client().POST("/v1/deployments", {
    body: {
      name,
      kind: "sqlite",
      connection: { path: "/srv/app.db" },
      driver: { type: "pull", agent_id: agentId },
      target_ids: [targetId],
    },
  });
}

it("a deployment re-created under a deleted one's name gets its backups back, and numbers on", async () => {
  const client = t.client();
  const setup = await pullSetup(client, stores, { name: "orders" });
  await completedBackup(t, client, setup);
  const second = await completedBackup(t, client, setup);
  must(
    await client.DELETE("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment: "orders", backup: second.backup_id ?? "" } },
    }),
  );
  const before = await backupsOf("orders");
  expect(before.map((backup) => backup.sequence)).toEqual([2, 1]);

  expect(await cancelQueuedFileDeletes(client, "orders")).toHaveLength(1);
  await deleteDeployment("orders");
  const created = await recreate("orders", setup.agent.id, setup.target.id);
  expect(created.response.status).toBe(201);
  const recreated = must(created);
  expect(recreated.id).not.toBe(setup.deployment.id);

  // The same catalog entries, tombstone included, now under the new deployment.
  const after = await backupsOf("orders");
  expect(after.map((backup) => backup.id)).toEqual(before.map((backup) => backup.id));
  expect(after.every((backup) => backup.deployment_id === recreated.id)).toBe(true);
  // Sequences are never reused: the next backup is 3, and 2 (tombstoned) is still taken.
  const next = await take(client, "orders");
  expect(next.sequence).toBe(3);
  const reused = await client.requestAs(
    "post",
    "/v1/deployments/{deployment}/backups",
    "application/json",
    { params: { path: { deployment: "orders" } }, body: { sequence: 2 } },
  );
  expect(reused.response.status).toBe(409);

  const audit = must(await client.GET("/v1/audit", { params: { query: { limit: 1000 } } }));
  expect(
    audit.items.find(
      (entry) => entry.action === "deployments.create" && entry.subject.deployment === recreated.id,
    )?.details,
  ).toMatchObject({ name: "orders", adopted_backups: 2 });
});

it("adopts nothing of another name or another tenant, and a live deployment keeps its own", async () => {
  const client = t.client();
  const kept = await pullSetup(client, stores, { name: "billing" });
  await completedBackup(t, client, kept);
  const gone = await pullSetup(client, stores, { name: "billing-old" });
  await completedBackup(t, client, gone);
  await deleteDeployment("billing-old");
  const other = await pullSetup(client, stores, { name: "billing-new" });
  expect(await backupsOf("billing-new")).toEqual([]);
  expect((await backupsOf("billing")).length).toBe(1);
  expect(other.deployment.name).toBe("billing-new");
  // The same name in another tenant starts empty.
  const tenant = must(await client.POST("/v1/tenants", { body: { name: "adoption-other" } }));
  const token = must(
    await client.POST("/v1/tokens", {
      body: { name: "other-admin", verbs: ["admin:*"], tenant_id: tenant.id },
    }),
  );
  const outsider = t.client(token.secret);
  await pullSetup(outsider, stores, { name: "billing-old" });
  expect(await backupsOf("billing-old", outsider)).toEqual([]);
  // The orphan still waits for its own name in its own tenant.
  const back = must(await recreate("billing-old", gone.agent.id, gone.target.id));
  expect((await backupsOf("billing-old")).map((backup) => backup.deployment_id)).toEqual([back.id]);
});

it("of deleted deployments whose sequences clash, adopts the most recent one's", async () => {
  const client = t.client();
  const setup = await pullSetup(client, stores, { name: "ledger" });
  await completedBackup(t, client, setup);
  await completedBackup(t, client, setup);
  await deleteDeployment("ledger");
  // An older deleted deployment of the same name that numbered from 1 too (as before adoption
  // existed): a copy of the rows under another deployment id, written a day earlier.
  db.prepare(
    `INSERT INTO backups (id, tenant_id, deployment_id, deployment_name, sequence, level,
       parent_id, session_id, state, failure_reason, trigger, job_id, metadata,
       uncompressed_bytes, compressed_bytes, stored_bytes, session_total_bytes, sha256, locations,
       queued_at, started_at, completed_at, duration_ms, verification, held, hold_reason, held_at,
       deleted_at, deleted_by, deleted_reason, created_at)
     SELECT 'old_' || id, tenant_id, 'dep_gone_long_ago', deployment_name,
       sequence, level, parent_id, session_id, state, failure_reason, trigger, job_id, metadata,
       uncompressed_bytes, compressed_bytes, stored_bytes, session_total_bytes, sha256, locations,
       queued_at, started_at, completed_at, duration_ms, verification, held, hold_reason, held_at,
       deleted_at, deleted_by, deleted_reason, strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '-1 day')
     FROM backups WHERE deployment_id = ?`,
  ).run(setup.deployment.id);

  const created = await recreate("ledger", setup.agent.id, setup.target.id);
  expect(created.response.status).toBe(201);
  const adopted = await backupsOf("ledger");
  expect(adopted.map((backup) => backup.sequence)).toEqual([2, 1]);
  expect(adopted.every((backup) => !backup.id.startsWith("old_"))).toBe(true);
  expect(
    db
      .prepare<[], { n: number }>(
        "SELECT count(*) AS n FROM backups WHERE deployment_id = 'dep_gone_long_ago'",
      )
      .get()?.n,
  ).toBe(2);
});
