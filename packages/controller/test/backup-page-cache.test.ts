/**
 * The backup listing keeps pages by tenant and by the deployment as the caller named it, and
 * answers a kept page without reading the deployment. So whatever changes which deployment a
 * name means (a rename, a delete, a new deployment taking the name), or a token's tenant, must
 * never be answered from a page kept before (migration 13 moves the catalog's generation).
 */
import { randomUUID } from "node:crypto";
import { must, pullSetup, secondConnection, take, type PullSetup } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
beforeAll(async () => {
  t = await startTestController();
});
afterAll(() => t.stop());

const list = (deployment: string, token?: string) =>
  t.client(token).GET("/v1/deployments/{deployment}/backups", {
    params: { path: { deployment }, query: { limit: 10 } },
  });

const sequences = async (deployment: string) =>
  must(await list(deployment)).items.map((backup) => backup.sequence);

async function setUp(name: string): Promise<PullSetup> {
  return pullSetup(t.client(), secondConnection(t).stores, { name });
}

it("answers a renamed deployment's old name 404 and its new name with its backups", async () => {
  const name = `cache-${randomUUID().slice(0, 8)}`;
  const setup = await setUp(name);
  await take(t.client(), name);
  await take(t.client(), name);
  expect(await sequences(name)).toEqual([2, 1]);
  // Asked again: the kept page.
  expect(await sequences(name)).toEqual([2, 1]);

  const renamed = `${name}-renamed`;
  must(
    await t.client().PATCH("/v1/deployments/{deployment}", {
      params: { path: { deployment: setup.deployment.id } },
      body: { name: renamed },
    }),
  );
  const old = await list(name);
  expect(old.response.status).toBe(404);
  expect(old.error?.error.code).toBe("resource.not_found");
  expect(await sequences(renamed)).toEqual([2, 1]);
  expect(await sequences(setup.deployment.id)).toEqual([2, 1]);

  // A new deployment takes the old name: its own (empty) catalog, not the kept page.
  await setUp(name);
  expect(await sequences(name)).toEqual([]);
});

it("answers a deleted deployment 404 right after its page was kept", async () => {
  const name = `gone-${randomUUID().slice(0, 8)}`;
  const setup = await setUp(name);
  expect(await sequences(name)).toEqual([]);
  const deleted = await t.client().DELETE("/v1/deployments/{deployment}", {
    params: { path: { deployment: setup.deployment.id } },
  });
  expect(deleted.response.status).toBe(204);
  const after = await list(name);
  expect(after.response.status).toBe(404);
});

it("never answers another tenant's token from a page kept for the owner", async () => {
  const name = `tenant-${randomUUID().slice(0, 8)}`;
  await setUp(name);
  await take(t.client(), name);
  expect(await sequences(name)).toEqual([1]);

  const tenant = must(
    await t.client().POST("/v1/tenants", { body: { name: `other-${randomUUID().slice(0, 8)}` } }),
  );
  const token = must(
    await t.client().POST("/v1/tokens", {
      body: { name: "reader", verbs: ["backup:read"], tenant_id: tenant.id },
    }),
  );
  const foreign = await list(name, token.secret);
  expect(foreign.response.status).toBe(404);
  expect(foreign.error?.error.code).toBe("resource.not_found");
});

describe("without response validation (as deployed)", () => {
  let raw: TestController;
  beforeAll(async () => {
    raw = await startTestController({ validateResponses: false });
  });
  afterAll(() => raw.stop());

  it("writes a kept page in parts, with its length and the charset res.json would add", async () => {
    const name = `raw-${randomUUID().slice(0, 8)}`;
    await pullSetup(raw.client(), secondConnection(raw).stores, { name });
    for (let index = 0; index < 3; index++) await take(raw.client(), name);
    const url = `${raw.url}/v1/deployments/${name}/backups?limit=2`;
    const headers = { authorization: `Bearer ${raw.adminToken}` };
    for (const attempt of ["read", "kept"]) {
      const response = await fetch(url, { headers });
      const body = Buffer.from(await response.arrayBuffer());
      expect({ attempt, status: response.status }).toEqual({ attempt, status: 200 });
      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(Number(response.headers.get("content-length"))).toBe(body.length);
      const page = JSON.parse(body.toString("utf8")) as {
        schema: string;
        command: string;
        result: { items: { sequence: number }[]; next_marker: string | null };
      };
      expect(page.schema).toBe("stowage.v1");
      expect(page.command).toBe("backups.list");
      expect(page.result.items.map((backup) => backup.sequence)).toEqual([3, 2]);
      expect(response.headers.get("link")).toBe(
        `</v1/deployments/${name}/backups?limit=2&marker=${page.result.next_marker}>; rel="next"`,
      );
    }
  });
});
