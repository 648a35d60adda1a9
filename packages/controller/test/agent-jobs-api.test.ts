/**
 * The agent API's job protocol over HTTP with the generated client: long-poll claims woken by a
 * queued job (no sleep loop), 204 on timeout and on shutdown, a client that leaves forgotten at
 * once; progress extending the lease, cooperative cancel (409), and completion filling the
 * catalog.
 */
import type { Stores } from "../src/services/control-context";
import type { Db } from "../src/store/database";
import { enrollTestAgent, type TestAgent } from "./agent-fixture";
import { manifest, must, pullSetup, secondConnection, take, type PullSetup } from "./pull-fixture";
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
  const row = stores.agents.byIdInAnyTenant(agent.instance);
  setup = await pullSetup(t.client(), stores, { agent: row });
});
afterAll(async () => {
  db.close();
  await t.stop();
});

function claim(wait: number, signal?: AbortSignal) {
  return agent.client.POST("/engines/jobs/{instance}/claim", {
    params: { path: { instance: agent.instance }, query: { wait } },
    signal,
  });
}

async function until(check: () => boolean, ms = 2000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

it("answers 204 at once with wait=0, and after the wait when nothing comes", async () => {
  expect((await claim(0)).response.status).toBe(204);
  const started = Date.now();
  expect((await claim(1)).response.status).toBe(204);
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
});

it("wakes a held claim as soon as a job is queued for the agent", async () => {
  const held = claim(30);
  await until(() => t.controller.jobWaiters.count === 1);
  const queuedAt = Date.now();
  const job = await take(t.client(), setup.deployment.name);
  const claimed = await held;
  expect(claimed.response.status).toBe(200);
  expect(claimed.data).toMatchObject({
    id: job.id,
    kind: "backup",
    deployment: setup.deployment.name,
  });
  // Woken by the queue, not by the 30-second wait running out.
  expect(Date.now() - queuedAt).toBeLessThan(5000);
  expect(t.controller.jobWaiters.count).toBe(0);
  const done = await agent.client.POST("/engines/jobs/{instance}/{job}/complete", {
    params: { path: { instance: agent.instance, job: job.id } },
    body: { outcome: "succeeded", manifest: manifest() },
  });
  expect(done.response.status).toBe(200);
});

it("does not wake an agent for another agent's job", async () => {
  const other = await enrollTestAgent(t);
  const otherSetup = await pullSetup(t.client(), stores, {
    agent: stores.agents.byIdInAnyTenant(other.instance),
  });
  const held = claim(1);
  await until(() => t.controller.jobWaiters.count === 1);
  const job = await take(t.client(), otherSetup.deployment.name);
  expect((await held).response.status).toBe(204);
  const theirs = await other.client.POST("/engines/jobs/{instance}/claim", {
    params: { path: { instance: other.instance }, query: { wait: 0 } },
  });
  expect(theirs.data?.id).toBe(job.id);
});

it("forgets a held claim whose client went away", async () => {
  const controller = new AbortController();
  const held = claim(30, controller.signal).catch((error: unknown) => error);
  await until(() => t.controller.jobWaiters.count === 1);
  controller.abort();
  await held;
  await until(() => t.controller.jobWaiters.count === 0);
});

it("reports progress, extends the lease, and completes into the catalog", async () => {
  const job = await take(t.client(), setup.deployment.name);
  const claimed = await claim(0);
  expect(claimed.data?.id).toBe(job.id);
  const firstLease = claimed.data?.lease_expires_at ?? "";
  await new Promise((resolve) => setTimeout(resolve, 20));
  const progress = await agent.client.POST("/engines/jobs/{instance}/{job}/progress", {
    params: { path: { instance: agent.instance, job: job.id } },
    body: { seq: 0, at: new Date().toISOString(), phase: "dump", percent: 40 },
  });
  expect(progress.response.status).toBe(200);
  expect(Date.parse(progress.data?.lease_expires_at ?? "")).toBeGreaterThan(Date.parse(firstLease));
  const result = manifest();
  const done = await agent.client.POST("/engines/jobs/{instance}/{job}/complete", {
    params: { path: { instance: agent.instance, job: job.id } },
    body: { outcome: "succeeded", manifest: result },
  });
  expect(done.data).toMatchObject({ job: job.id, state: "succeeded" });
  const backups = must(
    await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: setup.deployment.name } },
    }),
  );
  const entry = backups.items.find((backup) => backup.id === done.data?.backup?.id);
  expect(entry).toMatchObject({ state: "COMPLETED", sha256: result.sha256 });
});

it("tells the agent of a cancel with 409 on its next progress report", async () => {
  const job = await take(t.client(), setup.deployment.name);
  expect((await claim(0)).data?.id).toBe(job.id);
  const cancel = await t.client().POST("/v1/jobs/{job}/cancel", {
    params: { path: { job: job.id } },
  });
  expect(cancel.response.ok).toBe(true);
  const progress = await agent.client.POST("/engines/jobs/{instance}/{job}/progress", {
    params: { path: { instance: agent.instance, job: job.id } },
    body: { seq: 0, at: new Date().toISOString(), phase: "dump" },
  });
  expect(progress.response.status).toBe(409);
  expect(progress.error).toMatchObject({ error: { code: "resource.conflict" } });
  const view = must(await t.client().GET("/v1/jobs/{job}", { params: { path: { job: job.id } } }));
  expect(view.status).toBe("CANCELLED");
});

it("answers held claims 204 when the controller shuts down", async () => {
  const own = await startTestController();
  const ownAgent = await enrollTestAgent(own);
  const held = ownAgent.client.POST("/engines/jobs/{instance}/claim", {
    params: { path: { instance: ownAgent.instance }, query: { wait: 30 } },
  });
  await until(() => own.controller.jobWaiters.count === 1);
  const stopping = own.stop();
  expect((await held).response.status).toBe(204);
  await stopping;
});
