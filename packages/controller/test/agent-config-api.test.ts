/**
 * `getConfig` through the whole controller (real authentication, the generated agent client):
 * v2 by `Accept`, the ETag round trip to 304, a deployment change giving a new document, and
 * 406 with a suggestion when v1 cannot say what the agent runs. Unknown `/engines` routes are 404.
 */
import type { Stores } from "../src/services/control-context";
import type { Db } from "../src/store/database";
import { enrollTestAgent, type TestAgent } from "./agent-fixture";
import { must, pullSetup, secondConnection, type PullSetup } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
let db: Db;
let stores: Stores;
let agent: TestAgent;
let setup: PullSetup;

beforeAll(async () => {
  t = await startTestController();
  ({ db, stores } = secondConnection(t));
  agent = await enrollTestAgent(t);
  setup = await pullSetup(t.client(), stores, {
    agent: stores.agents.byIdInAnyTenant(agent.instance),
  });
});
afterAll(async () => {
  db.close();
  await t.stop();
});

const V2 = "application/vnd.stowage.agent-config.v2+json";

function getConfig(accept: string, ifNoneMatch?: string) {
  return agent.client.GET("/engines/config/{instance}", {
    params: { path: { instance: agent.instance } },
    headers: { accept, ...(ifNoneMatch ? { "if-none-match": ifNoneMatch } : {}) },
  });
}

it("serves v2 with an ETag, answers 304 to it, and a new document after a change", async () => {
  const first = await getConfig(V2);
  expect(first.response.status).toBe(200);
  expect(first.response.headers.get("content-type")).toMatch(
    /^application\/vnd\.stowage\.agent-config\.v2\+json/,
  );
  expect(first.response.headers.get("cache-control")).toBe("no-store");
  expect(first.response.headers.get("vary")).toMatch(/accept/i);
  const etag = first.response.headers.get("etag") ?? "";
  expect(etag).toMatch(/^"v2-/);
  expect(JSON.stringify(first.data)).toContain(setup.deployment.name);

  const unchanged = await getConfig(V2, etag);
  expect(unchanged.response.status).toBe(304);
  expect(unchanged.response.headers.get("etag")).toBe(etag);

  must(
    await t.client().PATCH("/v1/deployments/{deployment}", {
      params: { path: { deployment: setup.deployment.name } },
      body: { schedules: [{ cron: "30 2 * * *", time_zone: "Europe/Berlin" }] },
    }),
  );
  const changed = await getConfig(V2, etag);
  expect(changed.response.status).toBe(200);
  expect(changed.response.headers.get("etag")).not.toBe(etag);
  expect(JSON.stringify(changed.data)).toContain("Europe/Berlin");
});

it("answers a v1 request 406 with a suggestion when v1 cannot express the deployment", async () => {
  const refused = await getConfig("application/vnd.stowage.agent-config.v1+json");
  expect(refused.response.status).toBe(406);
  expect(refused.error).toMatchObject({
    schema: "stowage.v1",
    error: { code: "request.not_acceptable", suggestion: { human: expect.stringContaining(V2) } },
  });
});

it("answers an unknown agent-API route 404 with the envelope", async () => {
  const response = await fetch(`${t.url}/engines/no-such-route`);
  expect(response.status).toBe(404);
  expect(await response.json()).toMatchObject({
    schema: "stowage.v1",
    error: { code: "resource.not_found" },
  });
});

it("refuses at write time what the agent's v2 document could not carry", async () => {
  const base = {
    name: "relative-db",
    kind: "sqlite" as const,
    driver: { type: "pull" as const, agent_id: agent.instance },
    target_ids: [setup.target.id],
  };
  const relative = await t.client().POST("/v1/deployments", {
    body: { ...base, connection: { path: "srv/app.db" } },
  });
  expect(relative.response.status).toBe(400);
  expect(JSON.stringify(relative.error)).toContain("/body/connection/path");
  const badKey = await t.client().POST("/v1/deployments", {
    body: {
      ...base,
      connection: { path: "/srv/app.db" },
      encryption: { algorithm: "aes-256-gcm", key_ref: "the-key-itself" },
    },
  });
  expect(badKey.response.status).toBe(400);
  expect(JSON.stringify(badKey.error)).toContain("/body/encryption/key_ref");
});
