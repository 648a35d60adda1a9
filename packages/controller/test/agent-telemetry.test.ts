/**
 * The agent API's telemetry routes over real HTTP with the generated agent client: log lines
 * (JSON and NDJSON, limits, Idempotency-Key), run events (idempotent on id, driving the catalog
 * and claimed jobs), the capability routes, and reporting turned off or moved.
 */
import { randomUUID } from "node:crypto";
import type { components } from "@stowage/agent-client";
import type { Stores } from "../src/services/control-context";
import { AgentLogsStore } from "../src/store/agent-logs-store";
import type { Db } from "../src/store/database";
import { enrollTestAgent, type TestAgent } from "./agent-fixture";
import { must, pullSetup, secondConnection, take, type PullSetup } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

type Log = components["schemas"]["Log"];
type AgentEvent = components["schemas"]["AgentEvent"];
/** `uploadNdjson` answers an untyped body: the receipt, per the spec. */
type LogReceipt = components["schemas"]["LogReceipt"];

/** Above the 1 MiB staging chunk, so large bodies go through staged chunks. */
const LOG_LIMIT = 3 * 1024 * 1024;
const SHA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

let t: TestController;
let db: Db;
let stores: Stores;
let logs: AgentLogsStore;
let agent: TestAgent;
let setup: PullSetup;

beforeAll(async () => {
  t = await startTestController({ agentLogMaxBytes: LOG_LIMIT });
  ({ db, stores } = secondConnection(t));
  logs = new AgentLogsStore(db);
  agent = await enrollTestAgent(t);
  const row = stores.agents.byIdInAnyTenant(agent.instance);
  if (!row) throw new Error("the enrolled agent is not stored");
  setup = await pullSetup(t.client(), stores, { agent: row });
});
afterAll(async () => {
  db.close();
  await t.stop();
});

const instance = () => ({ path: { instance: agent.instance } });

function line(run: string | undefined, i: number, extra: Partial<Log> = {}): Log {
  return {
    ...(run !== undefined ? { run } : {}),
    timestamp: new Date().toISOString(),
    level: "info",
    fields: { i },
    message: `line ${i} ${"x".repeat(80)}`,
    ...extra,
  };
}

/** Every stored submission of this agent, committed or not: "nothing stored" counts both. */
function submissionCount(): number {
  return db
    .prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM agent_log_submissions WHERE agent_id = ?",
    )
    .get(agent.instance)!.n;
}

function chunkCount(): number {
  return db
    .prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM agent_log_chunks WHERE agent_id = ?",
    )
    .get(agent.instance)!.n;
}

function storedLines(run: string): Log[] {
  return logs
    .runChunks(agent.instance, run, 0, 1000)
    .flatMap((chunk) => chunk.body.split("\n").filter(Boolean))
    .map((text) => JSON.parse(text) as Log);
}

function* manyLines(run: string, bytes: number): Generator<Log> {
  let written = 0;
  for (let i = 0; written < bytes; i++) {
    const next = line(run, i);
    written += JSON.stringify(next).length + 1;
    yield next;
  }
}

async function postEvents(events: AgentEvent[], client = agent.client, path = instance()) {
  return client.POST("/engines/telemetry/{instance}/events", {
    params: path,
    body: { events },
  });
}

async function backupsOf(deployment: string) {
  return must(
    await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment }, query: { limit: 1000 } },
    }),
  ).items;
}

describe("capabilities", () => {
  it("tells where logs and traces go, how large a body may be and in which media types", async () => {
    const log = await agent.client.GET("/engines/telemetry/{instance}/log", { params: instance() });
    expect(log.response.status).toBe(200);
    expect(log.data).toEqual({
      log: `${t.url}/engines/telemetry/${agent.instance}/log`,
      max_body_bytes: LOG_LIMIT,
      media_types: ["application/json", "application/x-ndjson"],
    });
    const trace = await agent.client.GET("/engines/telemetry/{instance}/traces", {
      params: instance(),
    });
    expect(trace.response.status).toBe(200);
    expect(trace.data).toMatchObject({
      trace: `${t.url}/engines/telemetry/${agent.instance}/traces`,
      media_types: ["application/x-protobuf", "application/json"],
    });
    expect(trace.data?.max_body_bytes).toBeGreaterThan(0);
  });

  it("answers another agent's instance 404", async () => {
    const other = await enrollTestAgent(t);
    const result = await agent.client.GET("/engines/telemetry/{instance}/log", {
      params: { path: { instance: other.instance } },
    });
    expect(result.response.status).toBe(404);
    expect(result.error?.error.code).toBe("resource.not_found");
  });
});

describe("postLog", () => {
  it("stores one JSON Log, keeping unknown properties, and answers a receipt", async () => {
    const run = randomUUID();
    const result = await agent.client.POST("/engines/telemetry/{instance}/log", {
      params: instance(),
      body: { ...line(run, 0), hostname: "db-host" },
    });
    expect(result.response.status).toBe(201);
    expect(result.data).toMatchObject({ lines: 1, replayed: false });
    expect(result.response.headers.get("location")).toBe(
      `/engines/telemetry/${agent.instance}/log/${result.data?.id}`,
    );
    expect(storedLines(run)).toEqual([expect.objectContaining({ run, hostname: "db-host" })]);
  });

  it("stores NDJSON lines by run, each run's offsets continuing across requests", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const first = await agent.client.uploadNdjson("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      items: () => [line(a, 0), line(b, 0), line(a, 1), line(undefined, 9)],
    });
    expect(first.response.status).toBe(201);
    expect(first.data).toMatchObject({ lines: 4, replayed: false });
    const second = await agent.client.uploadNdjson("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      items: () => [line(a, 2)],
    });
    expect(second.response.status).toBe(201);
    expect(storedLines(a).map((stored) => stored.fields?.i)).toEqual([0, 1, 2]);
    expect(logs.runChunks(agent.instance, a, 2, 10)).toEqual([
      expect.objectContaining({ first_line: 2, line_count: 1 }),
    ]);
    expect(storedLines(b)).toHaveLength(1);
    expect(storedLines("").length).toBeGreaterThanOrEqual(1);
  });

  it("stores a body larger than a chunk, streamed, in several chunks committed together", async () => {
    const run = randomUUID();
    const result = await agent.client.uploadNdjson("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      items: () => manyLines(run, 2.5 * 1024 * 1024),
    });
    expect(result.response.status).toBe(201);
    const chunks = logs.runChunks(agent.instance, run, 0, 100);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.reduce((sum, chunk) => sum + chunk.line_count, 0)).toBe(
      (result.data as LogReceipt).lines,
    );
  });

  it("refuses a body over the limit with 413 and stores nothing, chunked or with a length", async () => {
    const before = [submissionCount(), chunkCount()];
    const chunked = await agent.client.uploadNdjson("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      items: () => manyLines(randomUUID(), LOG_LIMIT + 512 * 1024),
    });
    expect(chunked.response.status).toBe(413);
    expect(chunked.error).toMatchObject({ error: { code: "request.too_large" } });
    const text = [...manyLines(randomUUID(), LOG_LIMIT + 1024)]
      .map((entry) => JSON.stringify(entry))
      .join("\n");
    const declared = await agent.client.uploadBinary("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      contentType: "application/x-ndjson",
      body: () => text,
    });
    expect(declared.response.status).toBe(413);
    expect([submissionCount(), chunkCount()]).toEqual(before);
  });

  it("refuses an invalid line with 400 naming it, and stores nothing", async () => {
    const before = [submissionCount(), chunkCount()];
    const run = randomUUID();
    const body = [line(run, 0), { ...line(run, 1), level: "loud" }]
      .map((entry) => JSON.stringify(entry))
      .join("\n");
    const result = await agent.client.uploadBinary("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      contentType: "application/x-ndjson",
      body: () => `${body}\n`,
    });
    expect(result.response.status).toBe(400);
    expect(result.error).toMatchObject({
      error: {
        code: "request.invalid",
        details: [expect.objectContaining({ path: "/body/2/level" })],
      },
    });
    expect([submissionCount(), chunkCount()]).toEqual(before);
  });

  it("stores NDJSON lines as sent, without line breaks' carriage returns or blank lines", async () => {
    const run = randomUUID();
    const at = new Date().toISOString();
    const sent = [
      `{"message":"first","level":"info","timestamp":"${at}","run":"${run}","fields":{"b":1,"a":2}}`,
      `{ "run": "${run}", "timestamp": "${at}", "level": "warn", "message": "second" }`,
    ];
    const result = await agent.client.uploadBinary("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      contentType: "application/x-ndjson",
      body: () => `${sent[0]}\r\n\r\n${sent[1]}`,
    });
    expect(result.response.status).toBe(201);
    const text = `${sent.join("\n")}\n`;
    expect(result.data).toMatchObject({ lines: 2, bytes: Buffer.byteLength(text) });
    expect(logs.runChunks(agent.instance, run, 0, 10).map((chunk) => chunk.body)).toEqual([text]);
  });

  it("refuses a line whose timestamp is not RFC 3339, as the same Log in JSON is refused", async () => {
    const run = randomUUID();
    const bad = { ...line(run, 0), timestamp: "26/11/2026 08:00" };
    const ndjson = await agent.client.uploadBinary("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      contentType: "application/x-ndjson",
      body: () => `${JSON.stringify(bad)}\n`,
    });
    expect(ndjson.response.status).toBe(400);
    expect(ndjson.error).toMatchObject({
      error: { details: [expect.objectContaining({ path: "/body/1/timestamp" })] },
    });
    const json = await agent.client.POST("/engines/telemetry/{instance}/log", {
      params: instance(),
      body: bad,
    });
    expect(json.response.status).toBe(400);
    expect(storedLines(run)).toEqual([]);
  });

  it("counts a submission once per Idempotency-Key; another body under the key is 409", async () => {
    const run = randomUUID();
    const key = randomUUID();
    const lines = [line(run, 0), line(run, 1)];
    const send = (items: Log[]) =>
      agent.client.uploadNdjson("post", "/engines/telemetry/{instance}/log", {
        params: { ...instance(), header: { "Idempotency-Key": key } },
        items: () => items,
      });
    const first = await send(lines);
    const again = await send(lines);
    expect(first.response.status).toBe(201);
    expect(again.response.status).toBe(201);
    expect(again.data).toEqual({ ...(first.data as LogReceipt), replayed: true });
    expect(storedLines(run)).toHaveLength(2);
    const other = await send([line(run, 7)]);
    expect(other.response.status).toBe(409);
    expect(storedLines(run)).toHaveLength(2);
  });

  it("answers another agent's instance 404 and stores nothing", async () => {
    const other = await enrollTestAgent(t);
    const before = submissionCount();
    const result = await agent.client.POST("/engines/telemetry/{instance}/log", {
      params: { path: { instance: other.instance } },
      body: line(randomUUID(), 0),
    });
    expect(result.response.status).toBe(404);
    expect(submissionCount()).toBe(before);
  });

  it("copies the lines of a run that is a claimed job into the job's log", async () => {
    const job = await take(t.client(), setup.deployment.name);
    const claimed = await agent.client.POST("/engines/jobs/{instance}/claim", {
      params: instance(),
      body: {},
    });
    expect(claimed.data?.id).toBe(job.id);
    const result = await agent.client.uploadNdjson("post", "/engines/telemetry/{instance}/log", {
      params: instance(),
      items: () => [line(job.id, 0, { message: "dumping" })],
    });
    expect(result.response.status).toBe(201);
    const messages: string[] = [];
    for await (const entry of t
      .client()
      .streamNdjson("get", "/v1/jobs/{job}/logs", { params: { path: { job: job.id } } }))
      messages.push(entry.message);
    expect(messages).toContain("dumping");
    await agent.client.POST("/engines/telemetry/{instance}/events", {
      params: instance(),
      body: {
        events: [
          { id: randomUUID(), type: "run.started", run: job.id, at: now(), job: job.id },
          { id: randomUUID(), type: "run.failed", run: job.id, at: now(), message: "done here" },
        ],
      },
    });
  });
});

function now(): string {
  return new Date().toISOString();
}

describe("postEvents", () => {
  it("stores each event id once: a resent batch counts duplicates", async () => {
    const run = randomUUID();
    const events: AgentEvent[] = [
      { id: randomUUID(), type: "run.started", run, at: now(), deployment: setup.deployment.name },
      { id: randomUUID(), type: "phase.started", run, at: now(), phase: "dump" },
      {
        id: randomUUID(),
        type: "phase.finished",
        run,
        at: now(),
        phase: "dump",
        status: "ok",
        duration_ms: 12,
      },
    ];
    const first = await postEvents(events);
    expect(first.data).toEqual({ accepted: 3, duplicates: 0 });
    const again = await postEvents([...events, { ...events[1], id: randomUUID() }]);
    expect(again.data).toEqual({ accepted: 1, duplicates: 3 });
  });

  it("turns a run on the agent's own schedule into a COMPLETED backup of its one deployment", async () => {
    const run = randomUUID();
    const location = `file:///var/backups/stowage/${run}.gz`;
    const result = await postEvents([
      { id: randomUUID(), type: "run.started", run, at: now(), trigger: "schedule" },
      {
        id: randomUUID(),
        type: "phase.finished",
        run,
        at: now(),
        phase: "upload",
        status: "ok",
        duration_ms: 40,
        bytes: 4096,
        target: setup.target.name,
      },
      {
        id: randomUUID(),
        type: "run.succeeded",
        run,
        at: now(),
        duration_ms: 50,
        bytes: 4096,
        sha256: SHA,
        location,
      },
    ]);
    expect(result.data).toEqual({ accepted: 3, duplicates: 0 });
    const backup = (await backupsOf(setup.deployment.name)).find(
      (candidate) => candidate.metadata.run === run,
    );
    expect(backup).toMatchObject({
      state: "COMPLETED",
      trigger: "agent",
      sha256: SHA,
      locations: [{ target_id: setup.target.id, url: location }],
    });
    expect(stores.backups.byId(backup?.id ?? "", setup.deployment.id)?.stored_bytes).toBe(4096);
  });

  it("marks a failed run's backup FAILED with the agent's message", async () => {
    const run = randomUUID();
    await postEvents([
      { id: randomUUID(), type: "run.started", run, at: now() },
      { id: randomUUID(), type: "run.failed", run, at: now(), message: "mysqldump exited 2" },
    ]);
    const backup = (await backupsOf(setup.deployment.name)).find(
      (candidate) => candidate.metadata.run === run,
    );
    expect(backup).toMatchObject({ state: "FAILED", failure_reason: "mysqldump exited 2" });
  });

  it("drives a claimed job: run.succeeded completes it and its backup", async () => {
    const job = await take(t.client(), setup.deployment.name);
    const claimed = await agent.client.POST("/engines/jobs/{instance}/claim", {
      params: instance(),
      body: {},
    });
    expect(claimed.data?.id).toBe(job.id);
    const run = randomUUID();
    const result = await postEvents([
      { id: randomUUID(), type: "run.started", run, at: now(), job: job.id },
      {
        id: randomUUID(),
        type: "phase.finished",
        run,
        at: now(),
        phase: "dump",
        status: "ok",
        duration_ms: 30,
      },
      {
        id: randomUUID(),
        type: "run.succeeded",
        run,
        at: now(),
        duration_ms: 31,
        bytes: 777,
        sha256: SHA,
        location: "file:///var/backups/stowage/job.gz",
      },
    ]);
    expect(result.data).toEqual({ accepted: 3, duplicates: 0 });
    const view = must(
      await t.client().GET("/v1/jobs/{job}", { params: { path: { job: job.id } } }),
    );
    expect(view.status).toBe("SUCCEEDED");
    expect(view.phases.map((phase) => phase.name)).toEqual(["dump"]);
    const backup = (await backupsOf(setup.deployment.name)).find(
      (candidate) => candidate.job_id === job.id,
    );
    expect(backup).toMatchObject({ state: "COMPLETED", sha256: SHA });
    expect(stores.backups.byId(backup?.id ?? "", setup.deployment.id)?.stored_bytes).toBe(777);
  });

  it("drives a claimed job: run.failed fails it", async () => {
    const job = await take(t.client(), setup.deployment.name);
    await agent.client.POST("/engines/jobs/{instance}/claim", { params: instance(), body: {} });
    const run = randomUUID();
    await postEvents([
      { id: randomUUID(), type: "run.started", run, at: now(), job: job.id },
      { id: randomUUID(), type: "run.failed", run, at: now(), message: "disk full", phase: "dump" },
    ]);
    const view = must(
      await t.client().GET("/v1/jobs/{job}", { params: { path: { job: job.id } } }),
    );
    expect(view.status).toBe("FAILED");
    const backup = (await backupsOf(setup.deployment.name)).find(
      (candidate) => candidate.job_id === job.id,
    );
    expect(backup?.state).toBe("FAILED");
  });

  it("refuses a batch naming another agent's job or deployment with 400, storing none of it", async () => {
    const other = await enrollTestAgent(t);
    const otherRow = stores.agents.byIdInAnyTenant(other.instance);
    if (!otherRow) throw new Error("the other agent is not stored");
    const theirs = await pullSetup(t.client(), stores, { agent: otherRow });
    const job = await take(t.client(), theirs.deployment.name);
    const valid: AgentEvent = {
      id: randomUUID(),
      type: "run.started",
      run: randomUUID(),
      at: now(),
      deployment: setup.deployment.name,
    };
    const byJob = await postEvents([
      valid,
      { id: randomUUID(), type: "run.started", run: randomUUID(), at: now(), job: job.id },
    ]);
    expect(byJob.response.status).toBe(400);
    expect(byJob.error?.error.details).toEqual([
      expect.objectContaining({ path: "/body/events/1/job" }),
    ]);
    const byDeployment = await postEvents([
      {
        id: randomUUID(),
        type: "run.started",
        run: randomUUID(),
        at: now(),
        deployment: theirs.deployment.name,
      },
    ]);
    expect(byDeployment.response.status).toBe(400);
    // Nothing of the refused batch was stored: the valid event is new when sent again.
    expect((await postEvents([valid])).data).toEqual({ accepted: 1, duplicates: 0 });
  });

  it("answers another agent's instance 404", async () => {
    const other = await enrollTestAgent(t);
    const result = await postEvents(
      [{ id: randomUUID(), type: "phase.started", run: "r", at: now(), phase: "dump" }],
      agent.client,
      { path: { instance: other.instance } },
    );
    expect(result.response.status).toBe(404);
  });
});

describe("reporting elsewhere", () => {
  // Refusals come in a fixed order (401 first), so the agent authenticates to learn of the 410.
  it("answers every telemetry route 410 when reporting is off", async () => {
    const off = await startTestController({ reporting: "off" });
    try {
      const client = (await enrollTestAgent(off)).client;
      const path = { path: { instance: "inst-1" } };
      const answers = await Promise.all([
        client.GET("/engines/telemetry/{instance}/log", { params: path }),
        client.POST("/engines/telemetry/{instance}/log", {
          params: path,
          body: line(undefined, 0),
        }),
        client.GET("/engines/telemetry/{instance}/traces", { params: path }),
        client.POST("/engines/telemetry/{instance}/events", {
          params: path,
          body: { events: [{ id: "e1", type: "run.started", run: "r1", at: now() }] },
        }),
      ]);
      for (const answer of answers) {
        expect(answer.response.status).toBe(410);
        expect(answer.error?.error.code).toBe("resource.gone");
      }
    } finally {
      await off.stop();
    }
  });

  it("answers 301 to the reporting URL when reporting lives elsewhere", async () => {
    const moved = await startTestController({
      reporting: { url: "https://reporting.example:8443" },
    });
    try {
      for (const resource of ["log", "traces", "events"]) {
        const response = await fetch(`${moved.url}/engines/telemetry/inst-1/${resource}`, {
          method: "POST",
          redirect: "manual",
          body: "{}",
        });
        expect(response.status).toBe(301);
        expect(response.headers.get("location")).toBe(
          `https://reporting.example:8443/engines/telemetry/inst-1/${resource}`,
        );
      }
    } finally {
      await moved.stop();
    }
  });
});
