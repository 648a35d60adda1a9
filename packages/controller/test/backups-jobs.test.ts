/**
 * Backups, restores, jobs and events over the control API, on a real controller. The agent API
 * does not exist yet, so jobs move through the service functions its handlers will call
 * (`claimNextJob`, `reportProgress`, `completeJob`, `appendJobLogs`) on the controller's own
 * JobsService: the same transitions, events and hub notifications, nothing faked. Agents are
 * enrolled with the enrollment service on a second connection to the same database file.
 */
import { createHash, generateKeyPairSync, randomUUID } from "node:crypto";
import path from "node:path";
import { StreamEventSchema, type components } from "@stowage/control-server";
import type { ControlClient } from "@stowage/control-client";
import { ApiError } from "@stowage/server-runtime";
import { enrollAgent, recordAgentSeen } from "../src/services/agent-enrollment";
import { createStores, type Stores } from "../src/services/control-context";
import { BackupsService } from "../src/services/backups-service";
import { JobsService, type ProgressReport } from "../src/services/jobs-service";
import type { ResultManifest } from "../src/services/backup-catalog";
import { openDatabase, type Db } from "../src/store/database";
import type { AgentRow } from "../src/store/agents-store";
import { streamErrorFrame } from "../src/http/stream-error-frame";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
let stores: Stores;
let db: Db;
let jobs: JobsService;

beforeAll(async () => {
  t = await startTestController();
  db = openDatabase(path.join(t.dataDir, "stowage.db"));
  stores = createStores(db);
  jobs = t.controller.jobs;
});
afterAll(async () => {
  db.close();
  await t.stop();
});

interface Setup {
  deployment: { id: string; name: string };
  agent: AgentRow;
  target: { id: string; name: string };
}

/** A target, an enrolled agent (seen now unless told otherwise) and a pull deployment, all through the API. */
async function setup(
  options: {
    name?: string;
    retention?: { keep_last?: number };
    seen?: boolean;
    controller?: TestController;
    stores?: Stores;
    token?: string;
  } = {},
): Promise<Setup> {
  const controller = options.controller ?? t;
  const storesOf = options.stores ?? stores;
  const client = controller.client(options.token);
  const suffix = randomUUID().slice(0, 8);
  const target = await client.POST("/v1/targets", {
    body: { type: "file", name: `disk-${suffix}`, url: "file:///var/backups/stowage" },
  });
  if (!target.data) throw new Error(JSON.stringify(target.error));
  const enrollment = await client.POST("/v1/enrollments", { body: {} });
  if (!enrollment.data) throw new Error(JSON.stringify(enrollment.error));
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { agent } = enrollAgent(storesOf, {
    enrollmentSecret: enrollment.data.result.token,
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    hostname: "db-host.internal",
  });
  if (options.seen !== false) recordAgentSeen(storesOf, agent, { authMethod: "jwt" });
  const created = await client.POST("/v1/deployments", {
    body: {
      name: options.name ?? `db-${suffix}`,
      kind: "sqlite",
      connection: { path: "/srv/app.db" },
      driver: { type: "pull", agent_id: agent.id },
      target_ids: [target.data.result.id],
      ...(options.retention ? { retention: options.retention } : {}),
    },
  });
  if (!created.data) throw new Error(JSON.stringify(created.error));
  return {
    deployment: created.data.result,
    agent,
    target: target.data.result,
  };
}

function manifest(overrides: Partial<ResultManifest> = {}): ResultManifest {
  const bytes = 1000 + Math.floor(Math.random() * 1000);
  return {
    size_bytes: bytes,
    sha256: createHash("sha256").update(randomUUID()).digest("hex"),
    location: `file:///var/backups/stowage/${randomUUID()}.sql.gz`,
    compression: "gzip",
    started_at: new Date(Date.now() - 1000).toISOString(),
    finished_at: new Date().toISOString(),
    timings: [{ phase: "dump", duration_ms: 600 }],
    ...overrides,
  };
}

type ErrorBody = components["schemas"]["ErrorEnvelope"]["error"];

/** The error envelope's `error` of a failed call (requestAs types `error` as unknown). */
function errorOf(result: { error?: unknown }): ErrorBody | undefined {
  return (result.error as { error?: ErrorBody } | undefined)?.error;
}

/** Operations that also stream NDJSON are called as JSON through `requestAs`, typed by media type. */
async function take(
  deployment: string,
  body: { sequence?: number; level?: "full" | "incremental"; note?: string } = {},
  client: ControlClient = t.client(),
) {
  return client.requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
    params: { path: { deployment } },
    body,
  });
}

async function listEventsJson(
  query: { deployment?: string; op?: string; limit?: number; marker?: string; follow?: boolean },
  client: ControlClient = t.client(),
) {
  return client.requestAs("get", "/v1/events", "application/json", { params: { query } });
}

async function verifyJson(deployment: string, backup: string) {
  return t
    .client()
    .requestAs("post", "/v1/deployments/{deployment}/backups/{backup}/verify", "application/json", {
      params: { path: { deployment, backup } },
    });
}

async function createRestoreJson(
  deployment: string,
  body: components["schemas"]["RestoreRequest"],
  client: ControlClient = t.client(),
) {
  return client.requestAs("post", "/v1/deployments/{deployment}/restores", "application/json", {
    params: { path: { deployment } },
    body,
  });
}

async function takeOk(
  deployment: string,
  body: { sequence?: number; level?: "full" | "incremental" } = {},
  client: ControlClient = t.client(),
) {
  const { data, error } = await take(deployment, body, client);
  if (!data) throw new Error(JSON.stringify(error));
  return data.result;
}

/** Takes a backup and drives its job to success; answers the job and its manifest. */
async function completedBackup(setupOf: Setup, overrides: Partial<ResultManifest> = {}) {
  const job = await takeOk(setupOf.deployment.name);
  const claimed = jobs.claimNextJob(setupOf.agent.id);
  expect(claimed?.id).toBe(job.id);
  const result = manifest(overrides);
  jobs.completeJob(setupOf.agent.id, job.id, { outcome: "succeeded", manifest: result });
  return { job, manifest: result };
}

async function getBackup(deployment: string, backup: string, controller = t) {
  const { data, error } = await controller
    .client()
    .GET("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment, backup } },
    });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result;
}

async function getJob(job: string, controller = t) {
  const { data, error } = await controller
    .client()
    .GET("/v1/jobs/{job}", { params: { path: { job } } });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result;
}

/** What an ApiError a service call throws says, for `expect`. */
function refusal(call: () => unknown) {
  try {
    call();
  } catch (error) {
    if (error instanceof ApiError)
      return { status: error.status, code: error.code, subject: error.subject };
    throw error;
  }
  return "no error";
}

async function collect<T extends { final?: boolean }>(stream: AsyncIterable<T>): Promise<T[]> {
  const frames: T[] = [];
  for await (const frame of stream) frames.push(frame);
  return frames;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition the server reaches asynchronously (a closed socket's cleanup). */
async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(10);
  }
}

function progress(seq: number, phase: string, message?: string): ProgressReport {
  return { seq, phase, at: new Date().toISOString(), ...(message ? { message } : {}) };
}

describe("taking a backup", () => {
  it("queues a job (202), and claim, progress and complete fill the catalog entry COMPLETED with its sha256", async () => {
    const s = await setup();
    const taken = await take(s.deployment.name, { note: "before the migration" });
    expect(taken.response.status).toBe(202);
    const job = taken.data?.result;
    if (!job) throw new Error("no job");
    expect(taken.response.headers.get("location")).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({
      kind: "backup",
      status: "QUEUED",
      sequence: 1,
      attempt: 0,
      trigger: "manual",
      deployment_id: s.deployment.id,
      phases: [],
    });
    const backupId = job.backup_id ?? "";
    expect(await getBackup(s.deployment.name, backupId)).toMatchObject({
      sequence: 1,
      state: "DOES_NOT_EXIST",
      parts: [],
      job_id: job.id,
      level: "full",
      session_id: backupId,
      metadata: { backup_name: s.deployment.name, mode: "sqlite", note: "before the migration" },
    });

    const claimed = jobs.claimNextJob(s.agent.id);
    expect(claimed).toMatchObject({
      id: job.id,
      kind: "backup",
      deployment: s.deployment.name,
      attempt: 1,
      backup: { id: backupId, sequence: 1 },
    });
    expect(jobs.claimNextJob(s.agent.id)).toBeUndefined();
    expect((await getBackup(s.deployment.name, backupId)).state).toBe("IN_PROGRESS");

    jobs.reportProgress(s.agent.id, job.id, progress(0, "dump", "dumping main"));
    // A retried report (same seq) is acknowledged and not appended again.
    const lease = jobs.reportProgress(s.agent.id, job.id, progress(0, "dump", "dumping main"));
    expect(Date.parse(lease.lease_expires_at)).toBeGreaterThan(Date.now());
    jobs.reportProgress(s.agent.id, job.id, {
      ...progress(1, "upload"),
      bytes_done: 10,
      bytes_total: 20,
    });
    jobs.appendJobLogs(s.agent.id, job.id, [
      {
        timestamp: new Date().toISOString(),
        level: "warning",
        fields: { phase: "upload", stream: "stderr" },
        message: "slow target",
      },
    ]);
    const result = manifest({ target: s.target.name, uncompressed_bytes: 9000 });
    const completion = { outcome: "succeeded" as const, manifest: result };
    const answer = jobs.completeJob(s.agent.id, job.id, completion);
    expect(answer).toMatchObject({
      job: job.id,
      kind: "backup",
      state: "succeeded",
      backup: { id: backupId, sequence: 1 },
    });
    // Idempotent: the same completion again answers the same result; another is 409.
    expect(jobs.completeJob(s.agent.id, job.id, completion)).toEqual(answer);
    expect(
      refusal(() =>
        jobs.completeJob(s.agent.id, job.id, { outcome: "succeeded", manifest: manifest() }),
      ),
    ).toMatchObject({ status: 409, code: "resource.conflict" });

    const backup = await getBackup(s.deployment.name, backupId);
    expect(backup).toMatchObject({
      state: "COMPLETED",
      sha256: result.sha256,
      sizes: {
        stored_bytes: result.size_bytes,
        uncompressed_bytes: 9000,
        session_total_bytes: result.size_bytes,
      },
      locations: [{ target_id: s.target.id, url: result.location }],
      parts: [
        {
          name: "artifact",
          state: "COMPLETED",
          sha256: result.sha256,
          size_bytes: result.size_bytes,
        },
      ],
      metadata: { compression_alg: "gzip" },
      deleted: null,
      hold: false,
    });
    expect(backup.timings.completed_at).toBe(result.finished_at);
    expect(backup.timings.duration_ms).toEqual(expect.any(Number));

    const finished = await getJob(job.id);
    expect(finished).toMatchObject({
      status: "SUCCEEDED",
      phase: "finished",
      attempt: 1,
      agent_id: s.agent.id,
      message: "backup completed",
      phases: [
        { name: "dump", status: "SUCCEEDED", log: "dumping main\n", log_truncated: false },
        { name: "upload", status: "SUCCEEDED", error_log: "slow target\n" },
      ],
    });
    expect(finished.execution_time_ms).toEqual(expect.any(Number));

    const events = await collect(
      t
        .client()
        .streamNdjson("get", "/v1/jobs/{job}/events", { params: { path: { job: job.id } } }),
    );
    expect(events.map((frame) => frame.op)).toEqual([
      "job_queued",
      "job_started",
      "phase_started",
      "progress",
      "phase_completed",
      "phase_started",
      "progress",
      "backup_completed",
    ]);
    expect(events.map((frame) => frame.final ?? false)).toEqual([...Array(7).fill(false), true]);
    expect(events[7]).toMatchObject({
      subject: { job: job.id, backup: backupId },
      body: { sha256: result.sha256 },
    });

    const logs = await collect(
      t.client().streamNdjson("get", "/v1/jobs/{job}/logs", { params: { path: { job: job.id } } }),
    );
    expect(logs.map((line) => [line.level, line.message, line.final ?? false])).toEqual([
      ["info", "dumping main", false],
      ["warn", "slow target", false],
      ["info", "end of log", true],
    ]);
    expect(logs[2].fields).toEqual({ status: "SUCCEEDED" });

    const audit = await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } });
    expect(audit.data?.result.items).toContainEqual(
      expect.objectContaining({
        action: "backups.take",
        subject: expect.objectContaining({ backup: backupId }),
      }),
    );
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^stowage_backups\{state="COMPLETED"\} [1-9]/m);
    expect(metrics).toMatch(/^stowage_jobs\{status="SUCCEEDED"\} [1-9]/m);
  });

  it("an incremental builds on the newest COMPLETED backup, and its session adds up", async () => {
    const s = await setup();
    const first = await completedBackup(s);
    const incremental = await takeOk(s.deployment.name, { level: "incremental" });
    jobs.claimNextJob(s.agent.id);
    const result = manifest();
    jobs.completeJob(s.agent.id, incremental.id, { outcome: "succeeded", manifest: result });
    const backup = await getBackup(s.deployment.name, incremental.backup_id ?? "");
    expect(backup).toMatchObject({
      level: "incremental",
      parent_id: first.job.backup_id,
      session_id: first.job.backup_id,
      sizes: { session_total_bytes: first.manifest.size_bytes + result.size_bytes },
    });
  });

  it("a failed job fails its backup's part with the agent's message", async () => {
    const s = await setup();
    const job = await takeOk(s.deployment.name);
    jobs.claimNextJob(s.agent.id);
    jobs.reportProgress(s.agent.id, job.id, progress(0, "connect"));
    const result = jobs.completeJob(s.agent.id, job.id, {
      outcome: "failed",
      finished_at: new Date().toISOString(),
      phase: "connect",
      message: "unable to open database file",
      exit_code: 2,
    });
    expect(result.state).toBe("failed");
    expect(await getJob(job.id)).toMatchObject({
      status: "FAILED",
      error_message: "unable to open database file",
      phases: [{ name: "connect", status: "FAILED", error_log: "unable to open database file\n" }],
    });
    expect(await getBackup(s.deployment.name, job.backup_id ?? "")).toMatchObject({
      state: "FAILED",
      failure_reason: "unable to open database file",
      parts: [{ state: "FAILED", failure_reason: "unable to open database file" }],
    });
  });

  it("a scheduled take reserves the next sequence, triggered by the schedule and audited as the system's", async () => {
    const s = await setup();
    await takeOk(s.deployment.name, { sequence: 4 });
    const deployment = stores.deployments.byIdOrName(s.agent.tenant_id, s.deployment.id);
    if (!deployment) throw new Error("no deployment");
    const scheduled = new BackupsService(stores, new JobsService(stores)).takeScheduled(
      deployment,
      {
        slot: "2026-04-29T02:30:00.000Z",
      },
    );
    expect(scheduled).toMatchObject({ sequence: 5, trigger: "schedule", status: "QUEUED" });
    expect(await getBackup(s.deployment.name, scheduled.backup_id ?? "")).toMatchObject({
      trigger: "schedule",
      sequence: 5,
    });
    const audit = await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } });
    expect(audit.data?.result.items).toContainEqual(
      expect.objectContaining({
        action: "backups.take",
        actor: expect.objectContaining({ type: "system" }),
        details: expect.objectContaining({ slot: "2026-04-29T02:30:00.000Z", sequence: 5 }),
      }),
    );
  });

  it("answers another agent's job 404 on the agent side", async () => {
    const s = await setup();
    const other = await setup();
    const job = await takeOk(s.deployment.name);
    expect(jobs.claimNextJob(other.agent.id)).toBeUndefined();
    jobs.claimNextJob(s.agent.id);
    expect(
      refusal(() => jobs.reportProgress(other.agent.id, job.id, progress(0, "dump"))),
    ).toMatchObject({
      status: 404,
    });
  });
});

describe("streams", () => {
  it("a follow stream sends the past frames, then live ones as they happen, and ends with the outcome", async () => {
    const s = await setup();
    const job = await takeOk(s.deployment.name);
    const stream = t.client().streamNdjson("get", "/v1/jobs/{job}/events", {
      params: { path: { job: job.id }, query: { follow: true } },
    });
    const frames: { op: string; final?: boolean }[] = [];
    const iterator = stream[Symbol.asyncIterator]();
    const next = async () => {
      const step = await iterator.next();
      if (step.done) throw new Error("the stream ended early");
      frames.push(step.value);
      return step.value;
    };
    expect((await next()).op).toBe("job_queued");
    // Each transition below is pushed to the open stream before the next one happens.
    jobs.claimNextJob(s.agent.id);
    expect((await next()).op).toBe("job_started");
    jobs.reportProgress(s.agent.id, job.id, progress(0, "dump"));
    expect((await next()).op).toBe("phase_started");
    expect((await next()).op).toBe("progress");
    jobs.completeJob(s.agent.id, job.id, { outcome: "succeeded", manifest: manifest() });
    const last = await next();
    expect(last).toMatchObject({ op: "backup_completed", final: true });
    expect((await iterator.next()).done).toBe(true);
    expect(frames.filter((frame) => frame.final)).toHaveLength(1);
  });

  it("takeBackup with Accept: application/x-ndjson streams the job to its outcome", async () => {
    const s = await setup();
    const stream = t.client().streamNdjson("post", "/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: s.deployment.name } },
      body: {},
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ op: "job_queued", body: { sequence: 1 } });
    const job = first.value?.subject.job ?? "";
    jobs.claimNextJob(s.agent.id);
    jobs.reportProgress(s.agent.id, job, progress(0, "dump"));
    jobs.completeJob(s.agent.id, job, { outcome: "succeeded", manifest: manifest() });
    const rest: { op: string; final?: boolean }[] = [];
    for (let step = await iterator.next(); !step.done; step = await iterator.next())
      rest.push(step.value);
    expect(rest.map((frame) => frame.op)).toEqual([
      "job_started",
      "phase_started",
      "progress",
      "backup_completed",
    ]);
    expect(rest[3].final).toBe(true);
  });

  it("a follow stream on a job that ends badly ends with job_failed", async () => {
    const s = await setup();
    const job = await takeOk(s.deployment.name);
    jobs.claimNextJob(s.agent.id);
    const frames = collect(
      t.client().streamNdjson("get", "/v1/jobs/{job}/events", {
        params: { path: { job: job.id }, query: { follow: true } },
      }),
    );
    await sleep(50);
    jobs.completeJob(s.agent.id, job.id, {
      outcome: "failed",
      finished_at: new Date().toISOString(),
      message: "disk full",
    });
    const received = await frames;
    expect(received[received.length - 1]).toMatchObject({
      op: "job_failed",
      severity: "error",
      final: true,
      body: { message: "disk full" },
    });
  });

  it("a client that leaves a follow stream is unsubscribed from the hub", async () => {
    const s = await setup();
    const job = await takeOk(s.deployment.name);
    const before = jobs.eventHub.subscriberCount;
    const controller = new AbortController();
    const iterator = t
      .client()
      .streamNdjson("get", "/v1/jobs/{job}/logs", {
        params: { path: { job: job.id }, query: { follow: true } },
        signal: controller.signal,
      })
      [Symbol.asyncIterator]();
    const events = t
      .client()
      .streamNdjson("get", "/v1/events", {
        params: { query: { follow: true, deployment: s.deployment.id } },
        signal: controller.signal,
      })
      [Symbol.asyncIterator]();
    const pending = [iterator.next(), events.next()];
    await eventually(() => jobs.eventHub.subscriberCount === before + 2);
    controller.abort();
    await Promise.allSettled(pending);
    await eventually(() => jobs.eventHub.subscriberCount === before);
  });

  it("listEvents: an enveloped page, NDJSON ending with stream_end, and live frames with follow", async () => {
    const s = await setup();
    await completedBackup(s);
    const page = await listEventsJson({ deployment: s.deployment.name, op: "backup_completed" });
    expect(page.response.status).toBe(200);
    expect(page.data?.result.items).toEqual([
      expect.objectContaining({
        op: "backup_completed",
        subject: expect.objectContaining({ deployment: s.deployment.id }),
      }),
    ]);

    const refused = await listEventsJson({ follow: true });
    expect(refused.response.status).toBe(400);

    const replay = await collect(
      t
        .client()
        .streamNdjson("get", "/v1/events", { params: { query: { deployment: s.deployment.id } } }),
    );
    expect(replay.map((frame) => frame.op)).toEqual([
      "job_queued",
      "job_started",
      "backup_completed",
      "stream_end",
    ]);
    expect(replay[replay.length - 1]).toMatchObject({ final: true, body: { events: 3 } });

    const live = t
      .client()
      .streamNdjson("get", "/v1/events", {
        params: { query: { deployment: s.deployment.id, op: "job_queued", follow: true } },
      })
      [Symbol.asyncIterator]();
    expect((await live.next()).value).toMatchObject({ op: "job_queued" });
    const second = await takeOk(s.deployment.name);
    expect((await live.next()).value).toMatchObject({
      op: "job_queued",
      subject: { job: second.id },
    });
    await live.return?.();
  });

  it("paginates events oldest first with a marker", async () => {
    const s = await setup();
    for (let index = 0; index < 3; index++) await completedBackup(s);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const { data, response } = await listEventsJson({
        deployment: s.deployment.id,
        limit: 4,
        ...(marker ? { marker } : {}),
      });
      if (!data) throw new Error("no page");
      seen.push(...data.result.items.map((item) => item.id ?? ""));
      marker = data.result.next_marker ?? undefined;
      expect(Boolean(response.headers.get("link"))).toBe(marker !== undefined);
    } while (marker);
    expect(seen).toHaveLength(9);
    expect(new Set(seen).size).toBe(9);
  });

  it("the router's error frame for a failed stream is a valid StreamEvent", () => {
    const frame = streamErrorFrame(
      new ApiError(503, "storage.unavailable", "The store went away."),
      "req-1",
    );
    expect(StreamEventSchema.parse(frame)).toMatchObject({
      op: "error",
      final: true,
      body: { request_id: "req-1" },
    });
  });
});

describe("job limits and sequences", () => {
  it("answers 429 with Retry-After beyond the deployment's limit of queued and running jobs", async () => {
    const s = await setup();
    const queued = [];
    for (let index = 0; index < 10; index++) queued.push(await takeOk(s.deployment.name));
    const refused = await take(s.deployment.name);
    expect(refused.response.status).toBe(429);
    expect(refused.response.headers.get("retry-after")).toBe("10");
    expect(errorOf(refused)?.code).toBe("rate.limited");
    expect(errorOf(refused)?.suggestion?.human).toContain("Retry");
    // The refused take reserved nothing: the next sequence is still 11.
    await t.client().POST("/v1/jobs/{job}/cancel", { params: { path: { job: queued[0].id } } });
    expect((await takeOk(s.deployment.name)).sequence).toBe(11);
  });

  it("a named sequence not higher than the last is 409, tombstoned backups included (the Zeebe rule)", async () => {
    const s = await setup();
    expect((await takeOk(s.deployment.name, { sequence: 5 })).sequence).toBe(5);
    for (const sequence of [5, 3]) {
      const refused = await take(s.deployment.name, { sequence });
      expect(refused.response.status).toBe(409);
      expect(errorOf(refused)?.suggestion?.human).toContain("above 5");
    }
    const sixth = await takeOk(s.deployment.name);
    expect(sixth.sequence).toBe(6);
    await t.client().POST("/v1/jobs/{job}/cancel", { params: { path: { job: sixth.id } } });
    const deleted = await t.client().DELETE("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment: s.deployment.name, backup: sixth.backup_id ?? "" } },
    });
    expect(deleted.data?.result.deleted).toMatchObject({ by: expect.stringMatching(/^token:/) });
    expect((await take(s.deployment.name, { sequence: 6 })).response.status).toBe(409);
    expect((await takeOk(s.deployment.name)).sequence).toBe(7);
  });
});

describe("holds, tombstones and retention", () => {
  it("a held backup cannot be deleted (409); released, it is tombstoned and leaves the listing", async () => {
    const s = await setup();
    const { job } = await completedBackup(s);
    const backup = job.backup_id ?? "";
    const params = { params: { path: { deployment: s.deployment.name, backup } } };
    const held = await t.client().POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
      ...params,
      body: { reason: "legal hold: case 7" },
    });
    expect(held.data?.result).toMatchObject({ hold: true, hold_reason: "legal hold: case 7" });
    const refused = await t
      .client()
      .DELETE("/v1/deployments/{deployment}/backups/{backup}", params);
    expect(refused.response.status).toBe(409);
    expect(errorOf(refused)?.suggestion?.command).toContain("release");

    const released = await t
      .client()
      .DELETE("/v1/deployments/{deployment}/backups/{backup}/hold", params);
    expect(released.data?.result).toMatchObject({ hold: false, hold_reason: null, held_at: null });
    // Releasing again answers it unchanged.
    expect(
      (await t.client().DELETE("/v1/deployments/{deployment}/backups/{backup}/hold", params))
        .response.status,
    ).toBe(200);

    const deleted = await t
      .client()
      .DELETE("/v1/deployments/{deployment}/backups/{backup}", params);
    expect(deleted.response.status).toBe(200);
    expect(deleted.data?.result.deleted).toMatchObject({
      by: expect.stringMatching(/^token:tok_/),
      reason: null,
    });
    // Idempotent, still answered by GET, held no more.
    expect(
      (await t.client().DELETE("/v1/deployments/{deployment}/backups/{backup}", params)).response
        .status,
    ).toBe(200);
    expect((await getBackup(s.deployment.name, backup)).deleted).not.toBeNull();
    const holdTombstoned = await t
      .client()
      .POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
        ...params,
        body: {},
      });
    expect(holdTombstoned.response.status).toBe(409);

    const listed = await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: s.deployment.name } },
    });
    expect(listed.data?.result.items).toEqual([]);
    const withDeleted = await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: s.deployment.name }, query: { include_deleted: true } },
    });
    expect(withDeleted.data?.result.items.map((item) => item.id)).toEqual([backup]);
  });

  it("a backup being written cannot be deleted (409)", async () => {
    const s = await setup();
    const job = await takeOk(s.deployment.name);
    const refused = await t.client().DELETE("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment: s.deployment.name, backup: job.backup_id ?? "" } },
    });
    expect(refused.response.status).toBe(409);
    expect(errorOf(refused)?.suggestion?.command).toBe(`stowage jobs cancel ${job.id}`);
  });

  it("retention tombstones the oldest COMPLETED backups beyond keep_last, never a held one", async () => {
    const s = await setup({ retention: { keep_last: 2 } });
    const first = await completedBackup(s);
    await t.client().POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
      params: { path: { deployment: s.deployment.name, backup: first.job.backup_id ?? "" } },
      body: { reason: "audit" },
    });
    const second = await completedBackup(s);
    await completedBackup(s);
    await completedBackup(s);
    const listed = await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: s.deployment.name }, query: { include_deleted: true } },
    });
    const items = listed.data?.result.items ?? [];
    expect(items.map((item) => [item.sequence, item.deleted?.by ?? null])).toEqual([
      [4, null],
      [3, null],
      [2, "retention"],
      [1, null],
    ]);
    expect(items[2].id).toBe(second.job.backup_id);
    const pruned = await listEventsJson({ deployment: s.deployment.id, op: "backup_pruned" });
    expect(pruned.data?.result.items).toEqual([
      expect.objectContaining({
        subject: expect.objectContaining({ backup: second.job.backup_id }),
      }),
    ]);
  });

  it("verifyBackup queues a verify job whose outcome lands in the backup's verification", async () => {
    const s = await setup();
    const { job, manifest: stored } = await completedBackup(s);
    const backup = job.backup_id ?? "";
    const queued = await verifyJson(s.deployment.name, backup);
    expect(queued.response.status).toBe(202);
    const verify = queued.data?.result;
    expect(verify).toMatchObject({
      kind: "verify",
      backup_id: backup,
      sequence: null,
      status: "QUEUED",
    });
    expect(jobs.claimNextJob(s.agent.id)).toMatchObject({
      kind: "verify",
      backup: {
        id: backup,
        sha256: stored.sha256,
        size_bytes: stored.size_bytes,
        location: stored.location,
      },
    });
    jobs.completeJob(s.agent.id, verify?.id ?? "", {
      outcome: "succeeded",
      manifest: { ...manifest(), sha256: stored.sha256, size_bytes: stored.size_bytes },
    });
    expect((await getBackup(s.deployment.name, backup)).verification).toMatchObject({
      job_id: verify?.id,
      ok: true,
    });

    const again = await verifyJson(s.deployment.name, backup);
    jobs.claimNextJob(s.agent.id);
    jobs.completeJob(s.agent.id, again.data?.result.id ?? "", {
      outcome: "succeeded",
      manifest: manifest(),
    });
    expect(await getJob(again.data?.result.id ?? "")).toMatchObject({ status: "FAILED" });
    expect((await getBackup(s.deployment.name, backup)).verification).toMatchObject({ ok: false });
  });
});

describe("restores", () => {
  it("refuses pre-flight with 412 and a suggestion: no COMPLETED backup, not COMPLETED, in place without force", async () => {
    const s = await setup();
    const restore = (body: { backup_id: string; target?: string; force?: boolean }) =>
      createRestoreJson(s.deployment.name, body);
    const none = await restore({ backup_id: "latest", target: "/srv/restored.db" });
    expect(none.response.status).toBe(412);
    expect(errorOf(none)).toMatchObject({
      code: "precondition.failed",
      suggestion: { command: `stowage backups take ${s.deployment.name} --follow` },
    });

    const queued = await takeOk(s.deployment.name);
    const notCompleted = await restore({
      backup_id: queued.backup_id ?? "",
      target: "/srv/restored.db",
    });
    expect(notCompleted.response.status).toBe(412);
    expect(errorOf(notCompleted)?.message).toContain("DOES_NOT_EXIST");
    expect(errorOf(notCompleted)?.suggestion?.human).toBeTruthy();
    expect((await restore({ backup_id: "bak_missing", target: "/x" })).response.status).toBe(404);

    jobs.claimNextJob(s.agent.id);
    jobs.completeJob(s.agent.id, queued.id, { outcome: "succeeded", manifest: manifest() });
    const inPlace = await restore({ backup_id: "latest" });
    expect(inPlace.response.status).toBe(412);
    expect(errorOf(inPlace)?.suggestion?.human).toContain("force");
  });

  it("refuses a restore whose agent is offline (412)", async () => {
    const s = await setup({ seen: false });
    const job = await takeOk(s.deployment.name);
    jobs.claimNextJob(s.agent.id);
    jobs.completeJob(s.agent.id, job.id, { outcome: "succeeded", manifest: manifest() });
    const refused = await createRestoreJson(s.deployment.name, {
      backup_id: "latest",
      target: "/srv/restored.db",
    });
    expect(refused.response.status).toBe(412);
    expect(errorOf(refused)?.message).toContain("offline");
    expect(errorOf(refused)?.suggestion?.human).toContain("stowage-agent run");
  });

  it("restores `latest` through a restore job; a second restore meanwhile is 409", async () => {
    const s = await setup();
    await completedBackup(s);
    const { manifest: newest, job: newestJob } = await completedBackup(s);
    const created = await createRestoreJson(s.deployment.name, {
      backup_id: "latest",
      target: "/srv/restored.db",
      verify: "require",
    });
    expect(created.response.status).toBe(202);
    const restore = created.data?.result;
    if (!restore) throw new Error("no restore");
    expect(created.response.headers.get("location")).toBe(
      `/v1/deployments/${s.deployment.id}/restores/${restore.id}`,
    );
    expect(restore).toMatchObject({
      requested_backup: "latest",
      backup_id: newestJob.backup_id,
      target: "/srv/restored.db",
      verify: "require",
      force: false,
      status: "QUEUED",
    });
    const second = await createRestoreJson(s.deployment.name, {
      backup_id: "latest",
      target: "/srv/other.db",
    });
    expect(second.response.status).toBe(409);

    expect(jobs.claimNextJob(s.agent.id)).toMatchObject({
      kind: "restore",
      destination: "/srv/restored.db",
      force: false,
      backup: { id: newestJob.backup_id, sha256: newest.sha256, compression: "gzip" },
    });
    const running = await t.client().GET("/v1/deployments/{deployment}/restores/{restore}", {
      params: { path: { deployment: s.deployment.name, restore: restore.id } },
    });
    expect(running.data?.result).toMatchObject({
      status: "RUNNING",
      started_at: expect.any(String),
    });
    jobs.completeJob(s.agent.id, restore.job_id, { outcome: "succeeded", manifest: newest });
    const done = await t.client().GET("/v1/deployments/{deployment}/restores/{restore}", {
      params: { path: { deployment: s.deployment.name, restore: restore.id } },
    });
    expect(done.data?.result).toMatchObject({ status: "SUCCEEDED", ended_at: expect.any(String) });
    const events = await collect(
      t.client().streamNdjson("get", "/v1/jobs/{job}/events", {
        params: { path: { job: restore.job_id } },
      }),
    );
    expect(events[events.length - 1]).toMatchObject({ op: "restore_completed", final: true });
  });

  it("an in-place restore with force is queued against the deployment's own file", async () => {
    const s = await setup();
    await completedBackup(s);
    const created = await createRestoreJson(s.deployment.name, {
      backup_id: "latest",
      force: true,
    });
    expect(created.response.status).toBe(202);
    expect(jobs.claimNextJob(s.agent.id)).toMatchObject({
      destination: "/srv/app.db",
      force: true,
    });
  });
});

describe("cancel and delete", () => {
  it("a running job's cancel reaches its agent as a 409 on the next progress report, and the job ends CANCELLED", async () => {
    const s = await setup();
    const job = await takeOk(s.deployment.name);
    jobs.claimNextJob(s.agent.id);
    jobs.reportProgress(s.agent.id, job.id, progress(0, "dump"));
    const cancelled = await t
      .client()
      .POST("/v1/jobs/{job}/cancel", { params: { path: { job: job.id } } });
    expect(cancelled.data?.result).toMatchObject({
      status: "RUNNING",
      cancel_requested_at: expect.any(String),
    });
    // Idempotent while not finished.
    expect(
      (await t.client().POST("/v1/jobs/{job}/cancel", { params: { path: { job: job.id } } }))
        .response.status,
    ).toBe(200);

    expect(
      refusal(() => jobs.reportProgress(s.agent.id, job.id, progress(1, "dump"))),
    ).toMatchObject({
      status: 409,
      subject: { job: job.id, state: "cancelled" },
    });
    expect(await getJob(job.id)).toMatchObject({
      status: "CANCELLED",
      phases: [{ name: "dump", status: "CANCELLED" }],
    });
    expect((await getBackup(s.deployment.name, job.backup_id ?? "")).state).toBe("FAILED");
    expect(
      refusal(() =>
        jobs.completeJob(s.agent.id, job.id, { outcome: "succeeded", manifest: manifest() }),
      ),
    ).toMatchObject({ status: 409 });
    const again = await t
      .client()
      .POST("/v1/jobs/{job}/cancel", { params: { path: { job: job.id } } });
    expect(again.response.status).toBe(409);
  });

  it("a queued job is cancelled at once; deleteJob is 409 until the job ends, then forgets it and its events", async () => {
    const s = await setup();
    const job = await takeOk(s.deployment.name);
    const path = { params: { path: { job: job.id } } };
    const refused = await t.client().DELETE("/v1/jobs/{job}", path);
    expect(refused.response.status).toBe(409);
    expect(errorOf(refused)?.suggestion?.command).toBe(`stowage jobs cancel ${job.id}`);
    const cancelled = await t.client().POST("/v1/jobs/{job}/cancel", path);
    expect(cancelled.data?.result).toMatchObject({
      status: "CANCELLED",
      ended_at: expect.any(String),
    });
    expect(jobs.claimNextJob(s.agent.id)).toBeUndefined();
    expect((await t.client().DELETE("/v1/jobs/{job}", path)).response.status).toBe(204);
    expect((await t.client().GET("/v1/jobs/{job}", path)).response.status).toBe(404);
    const events = await listEventsJson({ deployment: s.deployment.id });
    expect(events.data?.result.items.filter((item) => item.subject.job === job.id)).toEqual([]);
    // The backup stays, with its sequence.
    expect((await getBackup(s.deployment.name, job.backup_id ?? "")).sequence).toBe(1);
  });
});

describe("listing", () => {
  it("pages backups newest sequence first with next_marker and Link, and filters by state", async () => {
    const s = await setup();
    for (let index = 0; index < 12; index++) {
      const job = await takeOk(s.deployment.name);
      jobs.claimNextJob(s.agent.id);
      if (index % 3 === 0) {
        jobs.completeJob(s.agent.id, job.id, {
          outcome: "failed",
          finished_at: new Date().toISOString(),
          message: "boom",
        });
      } else {
        jobs.completeJob(s.agent.id, job.id, { outcome: "succeeded", manifest: manifest() });
      }
    }
    const walk = async (query: { state?: "COMPLETED" | "FAILED" }) => {
      const sequences: number[] = [];
      let marker: string | undefined;
      let pages = 0;
      do {
        const { data, response } = await t.client().GET("/v1/deployments/{deployment}/backups", {
          params: {
            path: { deployment: s.deployment.name },
            query: { limit: 5, ...query, ...(marker ? { marker } : {}) },
          },
        });
        if (!data) throw new Error("no page");
        pages++;
        sequences.push(...data.result.items.map((item) => item.sequence));
        marker = data.result.next_marker ?? undefined;
        const link = response.headers.get("link");
        if (marker) expect(link).toContain(`marker=${marker}`);
        else expect(link).toBeNull();
      } while (marker);
      return { sequences, pages };
    };
    expect(await walk({})).toEqual({
      sequences: [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
      pages: 3,
    });
    expect((await walk({ state: "FAILED" })).sequences).toEqual([10, 7, 4, 1]);
    expect((await walk({ state: "COMPLETED" })).sequences).toEqual([12, 11, 9, 8, 6, 5, 3, 2]);

    const bad = await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: s.deployment.name }, query: { marker: "not-a-marker" } },
    });
    expect(bad.response.status).toBe(400);
  });

  it("pages jobs newest first and filters them by state, kind and deployment", async () => {
    const s = await setup();
    const taken = [];
    for (let index = 0; index < 4; index++) taken.push(await takeOk(s.deployment.name));
    await t.client().POST("/v1/jobs/{job}/cancel", { params: { path: { job: taken[1].id } } });
    const first = await t.client().GET("/v1/jobs", {
      params: { query: { deployment: s.deployment.name, limit: 3 } },
    });
    expect(first.data?.result.items.map((item) => item.id)).toEqual([
      taken[3].id,
      taken[2].id,
      taken[1].id,
    ]);
    const second = await t.client().GET("/v1/jobs", {
      params: {
        query: {
          deployment: s.deployment.name,
          limit: 3,
          marker: first.data?.result.next_marker ?? "",
        },
      },
    });
    expect(second.data?.result.items.map((item) => item.id)).toEqual([taken[0].id]);
    expect(second.data?.result.next_marker).toBeNull();
    const cancelled = await t.client().GET("/v1/jobs", {
      params: { query: { deployment: s.deployment.id, state: "CANCELLED", kind: "backup" } },
    });
    expect(cancelled.data?.result.items.map((item) => item.id)).toEqual([taken[1].id]);
    const verifies = await t.client().GET("/v1/jobs", {
      params: { query: { deployment: s.deployment.id, kind: "verify" } },
    });
    expect(verifies.data?.result.items).toEqual([]);
  });
});

describe("access", () => {
  it("answers another tenant's backups, jobs, restores and events with 404, never 403", async () => {
    const s = await setup();
    const { job } = await completedBackup(s);
    const tenant = await t
      .client()
      .POST("/v1/tenants", { body: { name: `other-${randomUUID().slice(0, 8)}` } });
    const token = await t.client().POST("/v1/tokens", {
      body: { name: "other-admin", verbs: ["admin:*"], tenant_id: tenant.data?.result.id ?? "" },
    });
    const other = t.client(token.data?.result.secret ?? "");
    const deployment = { deployment: s.deployment.name };
    const backup = job.backup_id ?? "";
    const statuses = [
      (await other.GET("/v1/deployments/{deployment}/backups", { params: { path: deployment } }))
        .response.status,
      (
        await other.requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
          params: { path: deployment },
          body: {},
        })
      ).response.status,
      (
        await other.GET("/v1/deployments/{deployment}/backups/{backup}", {
          params: { path: { ...deployment, backup } },
        })
      ).response.status,
      (
        await other.DELETE("/v1/deployments/{deployment}/backups/{backup}", {
          params: { path: { ...deployment, backup } },
        })
      ).response.status,
      (
        await other.POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
          params: { path: { ...deployment, backup } },
          body: {},
        })
      ).response.status,
      (await createRestoreJson(s.deployment.name, { backup_id: "latest" }, other)).response.status,
      (await other.GET("/v1/jobs/{job}", { params: { path: { job: job.id } } })).response.status,
      (await other.POST("/v1/jobs/{job}/cancel", { params: { path: { job: job.id } } })).response
        .status,
      (await other.DELETE("/v1/jobs/{job}", { params: { path: { job: job.id } } })).response.status,
    ];
    expect(statuses).toEqual(Array(statuses.length).fill(404));
    await expect(
      collect(
        other.streamNdjson("get", "/v1/jobs/{job}/events", { params: { path: { job: job.id } } }),
      ),
    ).rejects.toMatchObject({ status: 404 });
    const listed = await other.GET("/v1/jobs", {
      params: { query: { deployment: s.deployment.id } },
    });
    expect(listed.data?.result.items).toEqual([]);
    const events = await listEventsJson({ deployment: s.deployment.id }, other);
    expect(events.data?.result.items).toEqual([]);
  });

  it("answers 403 authz.denied to a token without the operation's verb", async () => {
    const s = await setup();
    const token = await t
      .client()
      .POST("/v1/tokens", { body: { name: "reader", verbs: ["backup:read"] } });
    const reader = t.client(token.data?.result.secret ?? "");
    const deployment = { deployment: s.deployment.name };
    const denied = [
      await reader.requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
        params: { path: deployment },
        body: {},
      }),
      await reader.POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
        params: { path: { ...deployment, backup: "bak_x" } },
        body: {},
      }),
      await createRestoreJson(s.deployment.name, { backup_id: "latest" }, reader),
      await reader.DELETE("/v1/jobs/{job}", { params: { path: { job: "job_x" } } }),
    ];
    expect(denied.map((answer) => [answer.response.status, errorOf(answer)?.code])).toEqual(
      Array(4).fill([403, "authz.denied"]),
    );
    const allowed = await reader.GET("/v1/deployments/{deployment}/backups", {
      params: { path: deployment },
    });
    expect(allowed.response.status).toBe(200);
  });
});

describe("lease expiry", () => {
  let short: TestController;
  let shortDb: Db;
  let shortStores: Stores;
  beforeAll(async () => {
    short = await startTestController({ jobLeaseMs: 300 });
    shortDb = openDatabase(path.join(short.dataDir, "stowage.db"));
    shortStores = createStores(shortDb);
  });
  afterAll(async () => {
    shortDb.close();
    await short.stop();
  });

  it("requeues a job whose agent stopped reporting once, then fails it", async () => {
    const s = await setup({ controller: short, stores: shortStores });
    const shortJobs = short.controller.jobs;
    const job = await takeOk(s.deployment.name, {}, short.client());
    const stream = short
      .client()
      .streamNdjson("get", "/v1/jobs/{job}/events", {
        params: { path: { job: job.id }, query: { follow: true } },
      })
      [Symbol.asyncIterator]();
    const until = async (op: string) => {
      for (;;) {
        const step = await stream.next();
        if (step.done) throw new Error(`the stream ended before ${op}`);
        if (step.value.op === op) return step.value;
      }
    };
    expect(shortJobs.claimNextJob(s.agent.id)?.attempt).toBe(1);
    shortJobs.reportProgress(s.agent.id, job.id, progress(0, "dump"));
    // The sweeper (a timer in the controller) requeues it once the 300 ms lease has passed.
    expect(await until("requeued")).toMatchObject({
      severity: "warning",
      body: { reason: "lease_expired", attempt: 1 },
    });
    expect(await getJob(job.id, short)).toMatchObject({
      status: "QUEUED",
      agent_id: null,
      phases: [
        { name: "dump", status: "FAILED", error_log: expect.stringContaining("lease expired") },
      ],
    });
    expect((await getBackup(s.deployment.name, job.backup_id ?? "", short)).state).toBe(
      "DOES_NOT_EXIST",
    );
    // The lost attempt's agent learns it must stop.
    expect(
      refusal(() => shortJobs.reportProgress(s.agent.id, job.id, progress(1, "dump"))),
    ).toMatchObject({
      status: 409,
      subject: { state: "requeued" },
    });

    expect(shortJobs.claimNextJob(s.agent.id)?.attempt).toBe(2);
    expect(await until("job_failed")).toMatchObject({
      final: true,
      body: { code: "lease.expired" },
    });
    expect((await stream.next()).done).toBe(true);
    expect(await getJob(job.id, short)).toMatchObject({
      status: "FAILED",
      attempt: 2,
      error_message: expect.stringContaining("lease expired"),
    });
    expect((await getBackup(s.deployment.name, job.backup_id ?? "", short)).state).toBe("FAILED");
  });

  it("ends follow streams with stream_end when the controller stops", async () => {
    const stopping = await startTestController();
    try {
      // The agent API's long polls listen to the hub from the start: count beyond them.
      const listening = stopping.controller.jobs.eventHub.subscriberCount;
      const stream = collect(
        stopping
          .client()
          .streamNdjson("get", "/v1/events", { params: { query: { follow: true } } }),
      );
      await eventually(() => stopping.controller.jobs.eventHub.subscriberCount === listening + 1);
      await stopping.controller.close();
      const frames = await stream;
      expect(frames[frames.length - 1]).toMatchObject({ op: "stream_end", final: true });
    } finally {
      await stopping.stop();
    }
  });
});

describe("metrics", () => {
  it("the gauges' trigger-kept counts match the tables, through tombstones, deletes and a deleted tenant", async () => {
    const tenant = await t
      .client()
      .POST("/v1/tenants", { body: { name: `gone-${randomUUID().slice(0, 8)}` } });
    const token = await t.client().POST("/v1/tokens", {
      body: { name: "gone-admin", verbs: ["admin:*"], tenant_id: tenant.data?.result.id ?? "" },
    });
    const doomed = await setup({ token: token.data?.result.secret ?? "" });
    const doomedClient = t.client(token.data?.result.secret ?? "");
    const taken = [];
    for (let index = 0; index < 3; index++) {
      taken.push(await takeOk(doomed.deployment.name, {}, doomedClient));
    }
    jobs.claimNextJob(doomed.agent.id);
    // Only an empty tenant can go: revoking its agent requeues the claimed job, its jobs are
    // cancelled, its deployment and target deleted. Its jobs and backups go with the tenant.
    await doomedClient.DELETE("/v1/agents/{agent}", {
      params: { path: { agent: doomed.agent.id } },
    });
    for (const job of taken) {
      await doomedClient.POST("/v1/jobs/{job}/cancel", { params: { path: { job: job.id } } });
    }
    await doomedClient.DELETE("/v1/deployments/{deployment}", {
      params: { path: { deployment: doomed.deployment.id } },
    });
    await doomedClient.DELETE("/v1/targets/{target}", {
      params: { path: { target: doomed.target.id } },
    });
    const removed = await t.client().DELETE("/v1/tenants/{tenant}", {
      params: { path: { tenant: tenant.data?.result.id ?? "" } },
    });
    expect(removed.response.status).toBe(204);

    const grouped = (sql: string) =>
      Object.fromEntries(
        db
          .prepare<[], { label: string; count: number }>(sql)
          .all()
          .map((row) => [row.label, row.count]),
      );
    const nonZero = (rows: { count: number }[], key: "state" | "status") =>
      Object.fromEntries(
        rows
          .filter((row) => row.count !== 0)
          .map((row) => [(row as unknown as Record<string, string>)[key], row.count]),
      );
    expect(nonZero(stores.backups.countByState(), "state")).toEqual(
      grouped(
        "SELECT state AS label, count(*) AS count FROM backups WHERE deleted_at IS NULL GROUP BY state",
      ),
    );
    expect(nonZero(stores.jobs.countByStatus(), "status")).toEqual(
      grouped("SELECT status AS label, count(*) AS count FROM jobs GROUP BY status"),
    );
    const scraped = await (await fetch(`${t.url}/metrics`)).text();
    const queued =
      grouped("SELECT status AS label, count(*) AS count FROM jobs GROUP BY status").QUEUED ?? 0;
    expect(scraped).toContain(`stowage_jobs{status="QUEUED"} ${queued}`);
  });
});
