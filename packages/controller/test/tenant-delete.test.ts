/**
 * The spec's deleteTenant: only an empty tenant goes (no deployments, targets or agents: 409
 * otherwise), its tokens and enrollments go with it, the root tenant never goes (409), and an
 * `admin:*` token of another tenant sees only its own tenant.
 */
import { randomUUID } from "node:crypto";
import type { ControlClient } from "@stowage/control-client";
import type { Stores } from "../src/services/control-context";
import type { Db } from "../src/store/database";
import { completedBackup, must, pullSetup, secondConnection } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
let db: Db;
let stores: Stores;
let rootId: string;

beforeAll(async () => {
  t = await startTestController();
  ({ db, stores } = secondConnection(t));
  const page = must(await t.client().GET("/v1/tenants"));
  rootId = page.items.find((tenant) => tenant.name === "default")?.id ?? "";
});
afterAll(async () => {
  db.close();
  await t.stop();
});

/** A tenant and an `admin:*` token of it. */
async function tenantWithAdmin(): Promise<{ id: string; name: string; client: ControlClient }> {
  const name = `tenant-${randomUUID().slice(0, 8)}`;
  const tenant = must(await t.client().POST("/v1/tenants", { body: { name } }));
  const token = must(
    await t.client().POST("/v1/tokens", {
      body: { name: "admin", verbs: ["admin:*"], tenant_id: tenant.id },
    }),
  );
  return { id: tenant.id, name, client: t.client(token.secret) };
}

async function deleteTenant(id: string, client = t.client()) {
  return client.DELETE("/v1/tenants/{tenant}", { params: { path: { tenant: id } } });
}

it("refuses to delete the root tenant (409)", async () => {
  const refused = await deleteTenant(rootId);
  expect(refused.response.status).toBe(409);
  expect(refused.error?.error).toMatchObject({
    code: "resource.conflict",
    subject: { tenant: rootId },
  });
});

it("refuses a tenant with deployments, targets or agents (409, naming what is left), until it is empty", async () => {
  const tenant = await tenantWithAdmin();
  const setup = await pullSetup(tenant.client, stores);
  const backup = await completedBackup(t, tenant.client, setup);
  // A second agent, revoked: its record stays, and does not keep the tenant.
  const spare = await pullSetup(tenant.client, stores);

  const full = await deleteTenant(tenant.id);
  expect(full.response.status).toBe(409);
  expect(full.error?.error).toMatchObject({
    code: "resource.conflict",
    subject: { tenant: tenant.id, deployments: 2, targets: 2, agents: 2 },
    suggestion: { human: expect.stringContaining("revoke its agents") },
  });
  expect(full.error?.error.message).toContain("2 deployments, 2 targets, 2 agents");

  for (const deployment of [setup.deployment.id, spare.deployment.id]) {
    const removed = await tenant.client.DELETE("/v1/deployments/{deployment}", {
      params: { path: { deployment } },
    });
    expect(removed.response.status).toBe(204);
  }
  expect((await deleteTenant(tenant.id)).error?.error.subject).toMatchObject({
    deployments: 0,
    targets: 2,
    agents: 2,
  });
  for (const target of [setup.target.id, spare.target.id]) {
    const removed = await tenant.client.DELETE("/v1/targets/{target}", {
      params: { path: { target } },
    });
    expect(removed.response.status).toBe(204);
  }
  const agentsLeft = await deleteTenant(tenant.id);
  expect(agentsLeft.response.status).toBe(409);
  expect(agentsLeft.error?.error.message).toContain("2 agents");
  for (const agent of [setup.agent.id, spare.agent.id]) {
    must(await tenant.client.DELETE("/v1/agents/{agent}", { params: { path: { agent } } }));
  }
  // An unused enrollment does not keep it either: it goes with the tenant.
  must(await tenant.client.POST("/v1/enrollments", { body: {} }));

  const deleted = await deleteTenant(tenant.id);
  expect(deleted.response.status).toBe(204);
  // Its tokens stopped working, and everything of it is gone, the backups the deleted
  // deployment left included; the audit entry counts those.
  expect((await tenant.client.GET("/v1/tokens")).response.status).toBe(401);
  expect(
    (await t.client().GET("/v1/tenants/{tenant}", { params: { path: { tenant: tenant.id } } }))
      .response.status,
  ).toBe(404);
  for (const table of ["tokens", "enrollments", "agents", "backups", "jobs", "events"]) {
    const left = db
      .prepare<[string], { n: number }>(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
      .get(tenant.id);
    expect({ table, left: left?.n }).toEqual({ table, left: 0 });
  }
  expect(db.prepare("SELECT 1 FROM backups WHERE id = ?").get(backup.backup_id)).toBeUndefined();
  const audit = must(await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } }));
  expect(
    audit.items.find(
      (entry) => entry.action === "tenants.delete" && entry.subject.tenant === tenant.id,
    ),
  ).toMatchObject({ tenant_id: rootId, details: { name: tenant.name, backups_forgotten: 1 } });
  // Its audit entries stay: the chain still verifies.
  expect(must(await t.client().POST("/v1/audit/verify-chain")).ok).toBe(true);
});

it("an admin token of another tenant sees and deletes only its own tenant", async () => {
  const mine = await tenantWithAdmin();
  const theirs = await tenantWithAdmin();

  const listed = must(await mine.client.GET("/v1/tenants"));
  expect(listed.items.map((tenant) => tenant.id)).toEqual([mine.id]);
  for (const id of [rootId, theirs.id]) {
    const seen = await mine.client.GET("/v1/tenants/{tenant}", {
      params: { path: { tenant: id } },
    });
    expect(seen.response.status).toBe(404);
    const removed = await deleteTenant(id, mine.client);
    expect(removed.response.status).toBe(404);
    expect(removed.error?.error.code).toBe("resource.not_found");
  }
  expect(
    must(await mine.client.GET("/v1/tenants/{tenant}", { params: { path: { tenant: mine.id } } }))
      .name,
  ).toBe(mine.name);
  // The root tenant's admin sees them all.
  const all = must(await t.client().GET("/v1/tenants", { params: { query: { limit: 1000 } } }));
  expect(all.items.map((tenant) => tenant.id)).toEqual(
    expect.arrayContaining([rootId, mine.id, theirs.id]),
  );

  // Its own empty tenant it may delete; the token goes with it.
  expect((await deleteTenant(mine.id, mine.client)).response.status).toBe(204);
  expect((await mine.client.GET("/v1/tenants")).response.status).toBe(401);
  expect(
    (await t.client().GET("/v1/tenants/{tenant}", { params: { path: { tenant: theirs.id } } }))
      .response.status,
  ).toBe(200);
});
