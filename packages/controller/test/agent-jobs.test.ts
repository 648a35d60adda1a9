/**
 * An agent's jobs over the control API: `in_flight_jobs` counts the jobs it has claimed and not
 * completed, and revoking it hands those jobs back as a lost lease would (the spec's
 * revokeAgent): requeued once, then failed; a job whose cancel was requested ends cancelled.
 */
import { isAgentActive } from "../src/services/agent-enrollment";
import type { Stores } from "../src/services/control-context";
import type { Db } from "../src/store/database";
import { enrolledAgent, manifest, must, pullSetup, secondConnection, take } from "./pull-fixture";
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

async function agentView(id: string) {
  return must(await t.client().GET("/v1/agents/{agent}", { params: { path: { agent: id } } }));
}

async function jobView(id: string) {
  return must(await t.client().GET("/v1/jobs/{job}", { params: { path: { job: id } } }));
}

/** The job's stored events (the NDJSON stream without `follow`), without its closing frame. */
async function jobEvents(id: string) {
  const frames = [];
  for await (const frame of t
    .client()
    .streamNdjson("get", "/v1/jobs/{job}/events", { params: { path: { job: id } } })) {
    frames.push(frame);
  }
  return frames.filter((frame) => frame.op !== "stream_end");
}

it("counts the jobs an agent has claimed and not completed, in get and list", async () => {
  const client = t.client();
  const first = await pullSetup(client, stores);
  const second = await pullSetup(client, stores, { agent: first.agent });
  const a = await take(client, first.deployment.name);
  const b = await take(client, second.deployment.name);
  await take(client, first.deployment.name);
  expect((await agentView(first.agent.id)).in_flight_jobs).toBe(0);

  // Queued jobs are not in flight; claimed ones are.
  t.controller.jobs.claimNextJob(first.agent.id);
  t.controller.jobs.claimNextJob(first.agent.id);
  expect((await agentView(first.agent.id)).in_flight_jobs).toBe(2);
  const listed = must(await client.GET("/v1/agents", { params: { query: { limit: 1000 } } }));
  expect(listed.items.find((agent) => agent.id === first.agent.id)?.in_flight_jobs).toBe(2);

  t.controller.jobs.completeJob(first.agent.id, a.id, {
    outcome: "succeeded",
    manifest: manifest(),
  });
  expect((await agentView(first.agent.id)).in_flight_jobs).toBe(1);
  t.controller.jobs.completeJob(first.agent.id, b.id, {
    outcome: "failed",
    finished_at: new Date().toISOString(),
    message: "disk full",
  });
  expect((await agentView(first.agent.id)).in_flight_jobs).toBe(0);
  // Another agent's jobs do not count.
  const other = await pullSetup(client, stores);
  await take(client, other.deployment.name);
  t.controller.jobs.claimNextJob(other.agent.id);
  expect((await agentView(first.agent.id)).in_flight_jobs).toBe(0);
  expect((await agentView(other.agent.id)).in_flight_jobs).toBe(1);
});

it("revoking an agent requeues its claimed jobs once, fails a requeued one, cancels a cancelled one", async () => {
  const client = t.client();
  const jobs = t.controller.jobs;
  const fresh = await pullSetup(client, stores);
  const again = await pullSetup(client, stores, { agent: fresh.agent });
  const cancelling = await pullSetup(client, stores, { agent: fresh.agent });

  // A job that already lost one lease: claimed, expired (requeued once), claimed again.
  const second = await take(client, again.deployment.name);
  expect(jobs.claimNextJob(fresh.agent.id)?.id).toBe(second.id);
  const requeued = jobs.expireLeases(new Date(Date.now() + jobs.settings.leaseMs + 1000));
  expect(requeued.requeued).toContain(second.id);
  expect(jobs.claimNextJob(fresh.agent.id)).toMatchObject({ id: second.id, attempt: 2 });

  const first = await take(client, fresh.deployment.name);
  expect(jobs.claimNextJob(fresh.agent.id)?.id).toBe(first.id);
  jobs.reportProgress(fresh.agent.id, first.id, { seq: 0, phase: "dump" });
  const third = await take(client, cancelling.deployment.name);
  expect(jobs.claimNextJob(fresh.agent.id)?.id).toBe(third.id);
  must(await client.POST("/v1/jobs/{job}/cancel", { params: { path: { job: third.id } } }));
  expect((await agentView(fresh.agent.id)).in_flight_jobs).toBe(3);

  const revoked = must(
    await client.DELETE("/v1/agents/{agent}", { params: { path: { agent: fresh.agent.id } } }),
  );
  expect(revoked).toMatchObject({ state: "revoked", in_flight_jobs: 0 });

  expect(await jobView(first.id)).toMatchObject({
    status: "QUEUED",
    agent_id: null,
    phases: [
      { name: "dump", status: "FAILED", error_log: expect.stringContaining("agent was revoked") },
    ],
  });
  expect((await jobEvents(first.id)).map((event) => event.op)).toContain("requeued");
  expect((await jobEvents(first.id)).find((event) => event.op === "requeued")).toMatchObject({
    severity: "warning",
    body: { reason: "agent_revoked", agent: fresh.agent.id, attempt: 1 },
  });
  expect(await jobView(second.id)).toMatchObject({
    status: "FAILED",
    attempt: 2,
    error_message: expect.stringContaining("revoked"),
  });
  expect((await jobEvents(second.id)).at(-1)).toMatchObject({
    op: "job_failed",
    body: { code: "agent.revoked" },
  });
  expect(await jobView(third.id)).toMatchObject({ status: "CANCELLED" });
  // The backup of the requeued job is waiting again, not in progress.
  const backup = must(
    await client.GET("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment: fresh.deployment.name, backup: first.backup_id ?? "" } },
    }),
  );
  expect(backup.state).toBe("DOES_NOT_EXIST");

  // The revocation's audit entry names what happened to each job.
  const audit = must(await client.GET("/v1/audit", { params: { query: { limit: 1000 } } }));
  expect(
    audit.items.find(
      (entry) => entry.action === "agents.revoke" && entry.subject.agent === fresh.agent.id,
    )?.details,
  ).toMatchObject({
    jobs_requeued: [first.id],
    jobs_failed: [second.id],
    jobs_cancelled: [third.id],
  });

  // The revoked agent cannot take it back (the agent API refuses it before any claim); the
  // agent the operator assigns instead does.
  expect(isAgentActive(stores, fresh.agent.id)).toBe(false);
  const replacement = await enrolledAgent(client, stores);
  must(
    await client.PATCH("/v1/deployments/{deployment}", {
      params: { path: { deployment: fresh.deployment.name } },
      body: { driver: { type: "pull", agent_id: replacement.id } },
    }),
  );
  expect(jobs.claimNextJob(replacement.id)).toMatchObject({ id: first.id, attempt: 2 });

  // Revoking again changes nothing.
  const repeated = await client.DELETE("/v1/agents/{agent}", {
    params: { path: { agent: fresh.agent.id } },
  });
  expect(repeated.response.status).toBe(200);
  expect((await jobView(first.id)).status).toBe("RUNNING");
});

it("seeks the partial index for an agent's running jobs", () => {
  const plan = db
    .prepare<[string], { detail: string }>(
      "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE agent_id = ? AND status = 'RUNNING'",
    )
    .all("agt_x")
    .map((row) => row.detail)
    .join("\n");
  expect(plan).toContain("jobs_running_by_agent");
});
