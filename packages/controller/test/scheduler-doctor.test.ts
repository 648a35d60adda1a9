/**
 * The scheduler and the doctor on a real controller. The scheduler's clock is the system clock
 * moved forward to just before a minute's boundary, so a `* * * * *` schedule (the API takes five
 * fields, no seconds) comes due in under a second and its real timer fires it. The doctor is read
 * over HTTP (responses validated against the spec) and, for ages of days, through the service
 * with a later `now` on a second connection to the same file. Jobs move through the service
 * functions the agent API's handlers call, as in backups-jobs.test.ts.
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import path from "node:path";
import type { components } from "@stowage/control-client";
import { enrollAgent, recordAgentSeen } from "../src/services/agent-enrollment";
import { systemClock, type Clock } from "../src/services/clock";
import { createStores, type Stores } from "../src/services/control-context";
import { DoctorService } from "../src/services/doctor";
import type { ResultManifest } from "../src/services/backup-catalog";
import { openDatabase, type Db } from "../src/store/database";
import type { AgentRow } from "../src/store/agents-store";
import { startTestController, type TestController } from "./test-controller";

type DeploymentCreate = components["schemas"]["DeploymentCreate"];
type DoctorDeployment = components["schemas"]["DoctorDeployment"];

/** How far the scheduler's clock runs ahead of the system clock; set per test. */
let offsetMs = 0;
const clock: Clock = {
  now: () => new Date(Date.now() + offsetMs),
  setTimer: (callback, delayMs) => systemClock.setTimer(callback, delayMs),
};

let t: TestController;
let db: Db;
let stores: Stores;

beforeAll(async () => {
  t = await startTestController({ clock });
  db = openDatabase(path.join(t.dataDir, "stowage.db"));
  stores = createStores(db);
});
afterAll(async () => {
  db.close();
  await t.stop();
});

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function createDeployment(body: DeploymentCreate, token = t.adminToken) {
  const { data, error } = await t.client(token).POST("/v1/deployments", { body });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result;
}

/**
 * A deployment whose jobs stay QUEUED: a pull deployment whose agent never claims (the zeebe and
 * script-agent drivers claim their deployments' jobs at once).
 */
async function unclaimedDeployment(name: string, schedules: DeploymentCreate["schedules"]) {
  const enrollment = await t.client().POST("/v1/enrollments", { body: {} });
  if (!enrollment.data) throw new Error(JSON.stringify(enrollment.error));
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { agent } = enrollAgent(stores, {
    enrollmentSecret: enrollment.data.result.token,
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    hostname: "idle-host.internal",
  });
  const target = await t.client().POST("/v1/targets", {
    body: { type: "file", name: `disk-${name}`, url: "file:///var/backups/stowage" },
  });
  if (!target.data) throw new Error(JSON.stringify(target.error));
  return createDeployment({
    name,
    kind: "sqlite",
    connection: { path: "/srv/app.db" },
    driver: { type: "pull", agent_id: agent.id },
    target_ids: [target.data.result.id],
    schedules,
  });
}

async function jobsOf(deployment: string) {
  const { data, error } = await t
    .client()
    .GET("/v1/jobs", { params: { query: { deployment, limit: 100 } } });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result.items;
}

describe("the scheduler in a running controller", () => {
  it("reports itself ready", async () => {
    const { data } = await t.client().GET("/v1/readyz");
    expect(data?.result.checks).toContainEqual({ name: "scheduler", ok: true });
  });

  it("fires a schedule on its own timer, once, and not again after a restart", async () => {
    // Just under a second before a minute boundary that lies ahead of the real clock, so the
    // deployment (stamped with the real time) exists before its first slot.
    // Near the end of a real minute its boundary would come between the real and the moved
    // clock; wait for the next minute instead.
    if (Date.now() % 60_000 > 55_000) await new Promise((resolve) => setTimeout(resolve, 5500));
    const boundary = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
    offsetMs = boundary - 1500 - Date.now();
    const name = `every-minute-${randomUUID().slice(0, 8)}`;
    const deployment = await unclaimedDeployment(name, [{ cron: "* * * * *" }]);
    const slot = new Date(boundary).toISOString();
    expect(deployment.next_run_at).toBe(slot);

    const [job] = await until("the scheduled job", async () => {
      const jobs = await jobsOf(name);
      return jobs.length > 0 ? jobs : undefined;
    });
    expect(job).toMatchObject({ kind: "backup", status: "QUEUED", trigger: "schedule" });
    expect(clock.now().getTime()).toBeGreaterThanOrEqual(boundary);

    const audit = await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } });
    expect(audit.data?.result.items).toContainEqual(
      expect.objectContaining({
        action: "backups.take",
        actor: expect.objectContaining({ type: "system" }),
        subject: expect.objectContaining({ job: job.id }),
        details: expect.objectContaining({ trigger: "schedule", slot }),
      }),
    );

    // The same slot, after a restart within the minute: nothing new.
    await t.stop({ keepData: true });
    t = await startTestController({ dataDir: t.dataDir, clock });
    expect(t.controller.scheduler.isRunning).toBe(true);
    expect(await jobsOf(name)).toHaveLength(1);

    // The next slot finds that job still queued: a `skipped` event, not a second job.
    // Moving a clock is no change the scheduler hears of: wake it to re-plan on the new time.
    offsetMs += boundary + 60_000 - clock.now().getTime() - 300;
    t.controller.scheduler.wake();
    const skipped = await until("the skipped event", async () => {
      const { data } = await t.client().requestAs("get", "/v1/events", "application/json", {
        params: { query: { deployment: name, op: "skipped" } },
      });
      return data && data.result.items.length > 0 ? data.result.items : undefined;
    });
    expect(skipped[0]).toMatchObject({
      severity: "warning",
      body: {
        reason: "a job of this deployment is still queued",
        slot: new Date(boundary + 60_000).toISOString(),
        queued_job: job.id,
      },
    });
    expect(await jobsOf(name)).toHaveLength(1);
    // Stop it from firing further minutes while the rest of the file runs.
    await t.client().PATCH("/v1/deployments/{deployment}", {
      params: { path: { deployment: name } },
      body: { paused: true },
    });
    offsetMs = 0;
  });
});

describe("the doctor", () => {
  let token: string;
  let tenantId: string;

  beforeAll(async () => {
    const tenant = await t
      .client()
      .POST("/v1/tenants", { body: { name: `doctor-${randomUUID().slice(0, 8)}` } });
    if (!tenant.data) throw new Error(JSON.stringify(tenant.error));
    tenantId = tenant.data.result.id;
    const created = await t.client().POST("/v1/tokens", {
      body: { name: "doctor-admin", verbs: ["admin:*"], tenant_id: tenantId },
    });
    if (!created.data) throw new Error(JSON.stringify(created.error));
    token = created.data.result.secret;
  });

  async function agent(): Promise<AgentRow> {
    const enrollment = await t.client(token).POST("/v1/enrollments", { body: {} });
    if (!enrollment.data) throw new Error(JSON.stringify(enrollment.error));
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { agent: enrolled } = enrollAgent(stores, {
      enrollmentSecret: enrollment.data.result.token,
      publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
      hostname: "db-host.internal",
    });
    recordAgentSeen(stores, enrolled, { authMethod: "jwt" });
    return enrolled;
  }

  async function pullDeployment(
    name: string,
    agentRow: AgentRow,
    extra: Partial<DeploymentCreate> = {},
  ) {
    const target = await t.client(token).POST("/v1/targets", {
      body: { type: "file", name: `disk-${name}`, url: "file:///var/backups/stowage" },
    });
    if (!target.data) throw new Error(JSON.stringify(target.error));
    return createDeployment(
      {
        name,
        kind: "sqlite",
        connection: { path: "/srv/app.db" },
        driver: { type: "pull", agent_id: agentRow.id },
        target_ids: [target.data.result.id],
        schedules: [{ cron: "30 2 * * *" }],
        ...extra,
      },
      token,
    );
  }

  async function doctor(query: { deployment?: string } = {}) {
    const answer = await t.client(token).GET("/v1/doctor", { params: { query } });
    if (!answer.data) throw new Error(JSON.stringify(answer.error));
    return answer.data.result;
  }

  function entry(report: { deployments: DoctorDeployment[] }, name: string): DoctorDeployment {
    const found = report.deployments.find((deployment) => deployment.name === name);
    if (!found) throw new Error(`no doctor entry for ${name}`);
    return found;
  }

  /** Takes a backup over the API and ends its job as the agent would. */
  async function runBackup(
    deployment: string,
    agentRow: AgentRow,
    outcome: "succeeded" | "failed",
    message = "",
  ) {
    const taken = await t
      .client(token)
      .requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
        params: { path: { deployment } },
        body: {},
      });
    if (!taken.data) throw new Error(JSON.stringify(taken.error));
    const claimed = t.controller.jobs.claimNextJob(agentRow.id);
    if (!claimed) throw new Error("nothing to claim");
    if (outcome === "failed") {
      t.controller.jobs.completeJob(agentRow.id, claimed.id, {
        outcome: "failed",
        finished_at: new Date().toISOString(),
        message,
      });
    } else {
      const manifest: ResultManifest = {
        size_bytes: 1234,
        sha256: "a".repeat(64),
        location: `file:///var/backups/stowage/${randomUUID()}.db.gz`,
        compression: "gzip",
        started_at: new Date(Date.now() - 1000).toISOString(),
        finished_at: new Date().toISOString(),
        timings: [{ phase: "dump", duration_ms: 500 }],
      };
      t.controller.jobs.completeJob(agentRow.id, claimed.id, { outcome: "succeeded", manifest });
    }
    return claimed.id;
  }

  const call = () => ({
    principal: {
      kind: "token" as const,
      tokenId: "tok_doctor_test",
      tokenName: "doctor-test",
      tenantId,
      verbs: new Set(["admin:*"]),
    },
    requestId: "req-doctor-test",
  });

  it("reports a new deployment without backups as fine until its first slot has passed", async () => {
    const agentRow = await agent();
    const deployment = await pullDeployment("fresh", agentRow);
    const report = await doctor();
    const fresh = entry(report, "fresh");
    expect(fresh).toMatchObject({
      deployment_id: deployment.id,
      last_good_backup: null,
      expected_interval_seconds: 86_400,
      agent: { agent_id: agentRow.id, online: true },
      consecutive_failures: 0,
    });
    // The first slot is at most a day away; the schedule expects it, nothing is wrong yet...
    if (Date.now() < Date.parse(deployment.next_run_at ?? "") - 3_700_000) {
      expect(fresh).toMatchObject({ status: "ok", problems: [] });
    }

    // ...but two days later, with no backup and the agent silent since, both are problems.
    const later = new Date(Date.parse(deployment.created_at) + 2 * 86_400_000);
    const service = new DoctorService(stores, { agentOfflineAfterMs: 5 * 60_000 });
    const aged = service.report(call(), { deployment: "fresh" }, later).deployments[0];
    expect(aged.status).toBe("critical");
    expect(aged.problems.map((problem) => problem.code).sort()).toEqual([
      "agent.offline",
      "backup.never_succeeded",
    ]);
    expect(
      aged.problems.find((problem) => problem.code === "backup.never_succeeded"),
    ).toMatchObject({
      severity: "critical",
      suggestion: { command: "stowage backups take fresh --follow" },
    });
  });

  it("counts failed jobs in a row, quotes the last error and points at its job", async () => {
    const agentRow = await agent();
    await pullDeployment("failing", agentRow);
    await runBackup("failing", agentRow, "failed", "connection refused");
    await runBackup("failing", agentRow, "failed", "connection refused");
    const last = await runBackup("failing", agentRow, "failed", "unable to open database file");

    const failing = entry(await doctor(), "failing");
    expect(failing).toMatchObject({
      status: "critical",
      consecutive_failures: 3,
      last_good_backup: null,
    });
    expect(failing.problems).toContainEqual({
      code: "jobs.failing",
      severity: "critical",
      message: "The last 3 jobs failed: unable to open database file",
      suggestion: {
        human: expect.stringContaining("logs"),
        command: `stowage jobs get ${last}`,
      },
    });

    // A success ends the streak; one failure after it is a warning, and the good backup counts.
    await runBackup("failing", agentRow, "succeeded");
    await runBackup("failing", agentRow, "failed", "disk full");
    const recovered = entry(await doctor({ deployment: "failing" }), "failing");
    expect(recovered).toMatchObject({ status: "warning", consecutive_failures: 1 });
    expect(recovered.last_good_backup).toMatchObject({ age_seconds: expect.any(Number) });
    expect(recovered.problems.map((problem) => problem.code)).toEqual(["jobs.failing"]);

    // The good backup ages against the daily schedule: overdue past two days, critical past three.
    const completedAt = Date.parse(recovered.last_good_backup?.completed_at ?? "");
    const service = new DoctorService(stores, { agentOfflineAfterMs: 365 * 86_400_000 });
    const codes = (days: number) =>
      service
        .report(call(), { deployment: "failing" }, new Date(completedAt + days * 86_400_000))
        .deployments[0].problems.filter((problem) => problem.code === "backup.overdue");
    expect(codes(1.5)).toEqual([]);
    expect(codes(2.5)).toEqual([expect.objectContaining({ severity: "warning" })]);
    expect(codes(3.5)).toEqual([
      expect.objectContaining({
        severity: "critical",
        message: "The last good backup is 3 days old; the schedule expects one every day.",
      }),
    ]);
  });

  it("reports paused deployments, deployments without schedules and revoked agents", async () => {
    const agentRow = await agent();
    await pullDeployment("paused", agentRow, { paused: true });
    await pullDeployment("manual", agentRow, { schedules: [] });
    const revokedAgent = await agent();
    await pullDeployment("orphaned", revokedAgent);
    const revoked = await t
      .client(token)
      .DELETE("/v1/agents/{agent}", { params: { path: { agent: revokedAgent.id } } });
    expect(revoked.response.ok).toBe(true);

    const report = await doctor();
    expect(entry(report, "paused").problems).toEqual([
      expect.objectContaining({
        code: "deployment.paused",
        severity: "warning",
        suggestion: expect.objectContaining({ command: "stowage backups take paused --follow" }),
      }),
    ]);
    expect(entry(report, "manual")).toMatchObject({
      expected_interval_seconds: null,
      problems: [expect.objectContaining({ code: "schedule.none", severity: "warning" })],
    });
    expect(entry(report, "orphaned")).toMatchObject({
      status: "critical",
      agent: { agent_id: revokedAgent.id, online: false },
      problems: [expect.objectContaining({ code: "agent.revoked", severity: "critical" })],
    });
    // Summary and ok agree with the entries; only this tenant's deployments are listed.
    expect(report.deployments.map((deployment) => deployment.name)).toEqual([
      "failing",
      "fresh",
      "manual",
      "orphaned",
      "paused",
    ]);
    const counted = { ok: 0, warning: 0, critical: 0 };
    for (const deployment of report.deployments) counted[deployment.status]++;
    expect(report.summary).toEqual({ deployments: 5, ...counted });
    expect(report.ok).toBe(false);
  });

  it("answers 400 for an unknown deployment filter, and needs backup:read", async () => {
    const unknown = await t
      .client(token)
      .GET("/v1/doctor", { params: { query: { deployment: "nope" } } });
    expect(unknown.response.status).toBe(400);
    const created = await t.client(token).POST("/v1/tokens", {
      body: { name: "reader", verbs: ["backup:read"] },
    });
    const other = await t.client(token).POST("/v1/tokens", {
      body: { name: "no-read", verbs: ["deployment:write"] },
    });
    if (!created.data || !other.data) throw new Error("tokens");
    const read = await t.client(created.data.result.secret).GET("/v1/doctor");
    expect(read.data?.result.summary.deployments).toBe(5);
    const denied = await t.client(other.data.result.secret).GET("/v1/doctor");
    expect(denied.response.status).toBe(403);
  });
});
