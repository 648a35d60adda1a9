/**
 * OTLP trace export (`postTraces`), driven by the OpenTelemetry SDK's own OTLP/HTTP exporters
 * (binary protobuf and JSON), as mysql-backup reports a run: spans of the databacker backup span
 * convention become a backup run in the catalog, with its phases.
 */
import { randomUUID } from "node:crypto";
import { ROOT_CONTEXT, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { accessTokenProvider } from "@stowage/agent-client";
import type { Stores } from "../src/services/control-context";
import type { Db } from "../src/store/database";
import { enrollTestAgent, type TestAgent } from "./agent-fixture";
import { must, pullSetup, secondConnection, type PullSetup } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

const MAX_BYTES = 16 * 1024;

let t: TestController;
let db: Db;
let stores: Stores;
let agent: TestAgent;
let setup: PullSetup;
let token: string;

beforeAll(async () => {
  t = await startTestController({ agentTraceMaxBytes: MAX_BYTES });
  ({ db, stores } = secondConnection(t));
  agent = await enrollTestAgent(t);
  const row = stores.agents.byIdInAnyTenant(agent.instance);
  if (!row) throw new Error("the enrolled agent is not stored");
  setup = await pullSetup(t.client(), stores, { agent: row });
  token = await bearerOf(agent);
});
afterAll(async () => {
  db.close();
  await t.stop();
});

async function bearerOf(of: TestAgent): Promise<string> {
  const provider = accessTokenProvider({ tokenUrl: of.endpoints.token, credentials: of });
  return provider.getToken({ forceRefresh: false });
}

type Encoding = "protobuf" | "json";

function exporter(encoding: Encoding, options: { instance?: string; bearer?: string } = {}) {
  const config = {
    url: `${t.url}/engines/telemetry/${options.instance ?? agent.instance}/traces`,
    headers: { Authorization: `Bearer ${options.bearer ?? token}` },
  };
  return encoding === "protobuf"
    ? new ProtobufTraceExporter(config)
    : new JsonTraceExporter(config);
}

type ExportResult = Parameters<Parameters<SpanExporter["export"]>[1]>[0];

/** One export; answers the HTTP status the exporter saw (200 when it succeeded). */
function exportSpans(to: SpanExporter, spans: ReadableSpan[]): Promise<number | undefined> {
  return new Promise((resolve) =>
    to.export(spans, (result: ExportResult) =>
      resolve(result.code === 0 ? 200 : (result.error as { code?: number } | undefined)?.code),
    ),
  );
}

/**
 * A tracer whose spans go to `to`, each as its own export when it ends (SimpleSpanProcessor),
 * and are kept to be exported again.
 */
function tracing(to: SpanExporter) {
  const statuses: (number | undefined)[] = [];
  const recording: SpanExporter = {
    export: (spans, done) =>
      to.export(spans, (result) => {
        statuses.push(result.code === 0 ? 200 : (result.error as { code?: number })?.code);
        done(result);
      }),
    shutdown: () => to.shutdown(),
  };
  const kept = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(recording), new SimpleSpanProcessor(kept)],
  });
  return {
    tracer: provider.getTracer("github.com/databacker/mysql-backup"),
    provider,
    statuses,
    kept,
  };
}

/** A mysql-backup run as the convention describes it: a `run` span, `dump` and `upload` below. */
function emitRun(tracer: Tracer, runId: string, outcome: "ok" | "error"): void {
  const common = { "backup.run_id": runId, "backup.status": "running" };
  const run = tracer.startSpan("run", { attributes: { ...common, "backup.phase": "run" } });
  const parent = trace.setSpan(ROOT_CONTEXT, run);
  const dump = tracer.startSpan(
    "dump",
    { attributes: { ...common, "backup.phase": "dump" } },
    parent,
  );
  dump.setAttributes({ "backup.status": "ok", "backup.bytes": 8192, "otel.status_code": "OK" });
  dump.setStatus({ code: SpanStatusCode.OK });
  dump.end();
  const upload = tracer.startSpan(
    "upload",
    {
      attributes: {
        ...common,
        "backup.phase": "upload",
        "backup.target.name": "offsite",
        "backup.target.type": "s3",
        "backup.target.url": "s3://backups-bucket/orders",
      },
    },
    parent,
  );
  if (outcome === "ok") {
    upload.setAttributes({ "backup.status": "ok", "backup.bytes": 5054 });
    upload.setStatus({ code: SpanStatusCode.OK });
    run.setAttributes({ "backup.phase": "complete", "backup.status": "ok", "backup.exit_code": 0 });
    run.setStatus({ code: SpanStatusCode.OK });
  } else {
    upload.setAttributes({ "backup.status": "error", "backup.event.message": "s3: access denied" });
    upload.setStatus({ code: SpanStatusCode.ERROR, message: "s3: access denied" });
    run.setAttributes({ "backup.status": "error", "backup.exit_code": 1 });
    run.setStatus({ code: SpanStatusCode.ERROR, message: "upload failed: s3: access denied" });
  }
  upload.end();
  run.end();
}

async function backupOfRun(runId: string) {
  const page = must(
    await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: setup.deployment.id }, query: { limit: 1000 } },
    }),
  );
  return page.items.find((backup) => backup.metadata.run === runId);
}

/** The deployment's event log entries about this run, by op (the NDJSON replay, no follow). */
async function runOps(runId: string): Promise<string[]> {
  const ops: string[] = [];
  for await (const frame of t.client().streamNdjson("get", "/v1/events", {
    params: { query: { deployment: setup.deployment.id } },
  }))
    if ((frame.body as { run?: string }).run === runId) ops.push(frame.op);
  return ops;
}

function storedEvents(): number {
  return (
    db.prepare("SELECT count(*) AS n FROM agent_events WHERE agent_id = ?").get(agent.instance) as {
      n: number;
    }
  ).n;
}

describe("a run reported as OTLP spans", () => {
  it.each<[Encoding, "ok" | "error"]>([
    ["protobuf", "ok"],
    ["json", "error"],
  ])("over %s, a run that ended %s becomes a backup in the catalog", async (encoding, outcome) => {
    const runId = randomUUID();
    const { tracer, provider, statuses } = tracing(exporter(encoding));
    emitRun(tracer, runId, outcome);
    await provider.forceFlush();
    expect(statuses).toEqual([200, 200, 200]);

    const backup = await backupOfRun(runId);
    expect(backup).toMatchObject({ trigger: "agent", job_id: null });
    if (outcome === "ok") {
      expect(backup?.state).toBe("COMPLETED");
      expect(backup?.sizes.stored_bytes).toBe(5054);
      expect(backup?.sha256).toBeNull();
    } else {
      expect(backup?.state).toBe("FAILED");
      expect(backup?.failure_reason).toContain("s3: access denied");
    }
    expect(await runOps(runId)).toEqual([
      "backup_started",
      outcome === "ok" ? "backup_completed" : "backup_failed",
    ]);
  });

  it("stores the run's phases, and nothing twice when the same spans are exported again", async () => {
    const runId = randomUUID();
    const { tracer, provider, kept } = tracing(exporter("protobuf"));
    emitRun(tracer, runId, "ok");
    await provider.forceFlush();
    const types = db
      .prepare("SELECT type, body FROM agent_events WHERE agent_id = ? AND run = ? ORDER BY at")
      .all(agent.instance, runId) as { type: string; body: string }[];
    expect(types.map((event) => event.type).sort()).toEqual(
      [
        "phase.finished",
        "phase.finished",
        "phase.started",
        "phase.started",
        "run.started",
        "run.succeeded",
      ].sort(),
    );
    const upload = types
      .map((event) => JSON.parse(event.body) as { type: string; phase?: string })
      .find((event) => event.type === "phase.finished" && event.phase === "upload");
    expect(upload).toMatchObject({ status: "ok", bytes: 5054, target: "offsite" });

    const before = { events: storedEvents(), backup: await backupOfRun(runId) };
    expect(await exportSpans(exporter("protobuf"), kept.getFinishedSpans())).toBe(200);
    expect(await exportSpans(exporter("json"), kept.getFinishedSpans())).toBe(200);
    expect(storedEvents()).toBe(before.events);
    expect(await backupOfRun(runId)).toEqual(before.backup);
  });
});

describe("refusals", () => {
  async function post(body: Uint8Array, headers: Record<string, string> = {}) {
    return fetch(`${t.url}/engines/telemetry/${agent.instance}/traces`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/x-protobuf",
        ...headers,
      },
      body,
    });
  }

  it("answers a body that is not an ExportTraceServiceRequest with the 400 envelope", async () => {
    // Field 1 (resource_spans) announces 5 bytes and carries 1.
    const response = await post(Uint8Array.from([0x0a, 0x05, 0x01]));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      schema: "stowage.v1",
      error: { code: "request.invalid", details: [{ path: "/body" }] },
    });
  });

  it("answers another agent's instance 404", async () => {
    const other = await enrollTestAgent(t);
    const { tracer, provider, statuses } = tracing(
      exporter("protobuf", { instance: agent.instance, bearer: await bearerOf(other) }),
    );
    tracer.startSpan("run", { attributes: { "backup.run_id": randomUUID() } }).end();
    await provider.forceFlush();
    expect(statuses).toEqual([404]);
  });

  it.each<Encoding>(["protobuf", "json"])(
    "answers a %s export over the size limit 413 and stores nothing of it",
    async (encoding) => {
      const runId = randomUUID();
      const { tracer, provider, kept } = tracing(new InMemorySpanExporter());
      emitRun(tracer, runId, "ok");
      await provider.forceFlush();
      const spans = kept.getFinishedSpans();
      spans[0].attributes["padding"] = "x".repeat(MAX_BYTES);
      const before = storedEvents();
      expect(await exportSpans(exporter(encoding), spans)).toBe(413);
      expect(storedEvents()).toBe(before);
      expect(await backupOfRun(runId)).toBeUndefined();
    },
  );
});
