import { schemas } from "@stowage/agent-server";
import type { IngestedAgentEvent } from "../../src/services/agent-events/agent-events-service";
import type {
  DecodedSpan,
  SpanAttribute,
} from "../../src/services/agent-traces/decode-trace-export";
import { spansToRunEvents } from "../../src/services/agent-traces/span-run-events";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const RUN = "550e8400-e29b-41d4-a716-446655440000";
/** 2024-05-06T12:53:20.000Z in Unix nanoseconds; spans below are seconds after it. */
const T0 = 1_715_000_000_000_000_000n;
const at = (seconds: number) => new Date(Number(T0 / 1_000_000n) + seconds * 1000).toISOString();

function span(
  name: string,
  spanId: string,
  [start, end]: [number, number],
  attributes: Record<string, SpanAttribute> = {},
  status: { code?: number; message?: string } = {},
): DecodedSpan {
  return {
    traceId: TRACE,
    spanId,
    parentSpanId: name === "run" ? undefined : "00f067aa0ba902b7",
    name,
    startNanos: T0 + BigInt(start) * 1_000_000_000n,
    endNanos: T0 + BigInt(end) * 1_000_000_000n,
    attributes: new Map(Object.entries({ "backup.run_id": RUN, ...attributes })),
    statusCode: status.code ?? 1,
    statusMessage: status.message,
  };
}

const runSpan = (attributes: Record<string, SpanAttribute> = {}, status = {}) =>
  span("run", "00f067aa0ba902b7", [0, 180], { "backup.phase": "complete", ...attributes }, status);
const dump = () =>
  span("dump", "a3ce929d0e0e4736", [10, 120], {
    "backup.phase": "dump",
    "backup.bytes": 104857600,
  });
const upload = (spanId: string, target: string, bytes: number) =>
  span("upload", spanId, [120, 150], {
    "backup.phase": "upload",
    "backup.status": "ok",
    "backup.bytes": bytes,
    "backup.target.name": target,
    "backup.target.url": `file:///var/lib/databacker/${target}`,
  });

/** Each event is what the agent API's schema allows (a success without its digest and size). */
function expectValid(events: IngestedAgentEvent[]): void {
  for (const event of events) {
    const schema =
      event.type === "run.succeeded"
        ? schemas.RunSucceededEvent.omit({ sha256: true, bytes: true })
        : schemas.AgentEvent;
    expect(schema.safeParse(event).error).toBeUndefined();
  }
}

describe("spansToRunEvents", () => {
  it("maps a successful run to its start, its phases in time order and its success", () => {
    const { events, rejected } = spansToRunEvents([
      upload("c4de929d0e1f5831", "local-dev", 104857),
      dump(),
      upload("d5ef030e1f2a6942", "daily-s3", 104860),
      runSpan(),
    ]);
    expectValid(events);
    expect(rejected.count).toBe(0);
    expect(
      events.map((event) => [event.type, event.at, "phase" in event ? event.phase : ""]),
    ).toEqual([
      ["run.started", at(0), ""],
      ["phase.started", at(10), "dump"],
      ["phase.finished", at(120), "dump"],
      ["phase.started", at(120), "upload"],
      ["phase.started", at(120), "upload"],
      ["phase.finished", at(150), "upload"],
      ["phase.finished", at(150), "upload"],
      ["run.succeeded", at(180), ""],
    ]);
    expect(events[0]).toMatchObject({ run: RUN, operation: "backup" });
    expect(
      events.find((event) => event.type === "phase.finished" && event.phase === "upload"),
    ).toMatchObject({
      status: "ok",
      duration_ms: 30000,
      bytes: 104857,
      target: "local-dev",
    });
    // The largest upload: every target stores the same artifact.
    expect(events[7]).toEqual({
      id: expect.stringMatching(/^otlp_[A-Za-z0-9_-]{43}$/),
      type: "run.succeeded",
      run: RUN,
      at: at(180),
      duration_ms: 180000,
      bytes: 104860,
      location: "file:///var/lib/databacker/local-dev",
    });
  });

  it("gives the same ids to the same spans, and different ids to different events", () => {
    const spans = [dump(), upload("c4de929d0e1f5831", "offsite", 1), runSpan()];
    const ids = spansToRunEvents(spans).events.map((event) => event.id);
    expect(spansToRunEvents(spans).events.map((event) => event.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("starts the run with one id whichever of its spans arrives first", () => {
    const fromPhase = spansToRunEvents([dump()]).events[0];
    const fromRun = spansToRunEvents([runSpan()]).events[0];
    expect(fromPhase).toMatchObject({ type: "run.started", at: at(10) });
    expect(fromRun).toMatchObject({ type: "run.started", at: at(0) });
    expect(fromPhase.id).toBe(fromRun.id);
  });

  it("leaves the size of a success to the phases when its export carries none", () => {
    const [, succeeded] = spansToRunEvents([runSpan()]).events;
    expect(succeeded).toMatchObject({ type: "run.succeeded" });
    expect(succeeded).not.toHaveProperty("bytes");
  });

  it("maps a failed run to run.failed naming the failed phase, its message and exit code", () => {
    const failedUpload = span(
      "upload",
      "c4de929d0e1f5831",
      [120, 125],
      { "backup.status": "error", "otel.status_description": "connection refused" },
      { code: 2, message: "dial tcp: connection refused" },
    );
    const { events } = spansToRunEvents([
      dump(),
      failedUpload,
      runSpan({ "backup.phase": "run", "backup.exit_code": 1 }, { code: 2 }),
    ]);
    expectValid(events);
    expect(
      events.find((event) => event.type === "phase.finished" && event.phase === "upload"),
    ).toMatchObject({
      status: "error",
      message: "connection refused",
    });
    expect(events[events.length - 1]).toMatchObject({
      type: "run.failed",
      at: at(180),
      phase: "upload",
      message: "The upload phase failed.",
      exit_code: 1,
    });
  });

  it.each<[string, Record<string, SpanAttribute>, { code?: number; message?: string }]>([
    ["backup.status", { "backup.status": "error" }, {}],
    ["otel.status_code", { "otel.status_code": "ERROR" }, {}],
    ["the span status", {}, { code: 2, message: "killed" }],
  ])("takes a run as failed by %s", (_, attributes, status) => {
    const { events } = spansToRunEvents([runSpan(attributes, status)]);
    expect(events[1]).toMatchObject({ type: "run.failed" });
  });

  it("gives spans without backup.run_id the run of their trace", () => {
    const bare = span("dump", "a3ce929d0e0e4736", [10, 20]);
    bare.attributes = new Map();
    const { events } = spansToRunEvents([bare, runSpan()]);
    expect(events.filter((event) => event.type === "phase.finished")).toEqual([
      expect.objectContaining({ run: RUN, phase: "dump" }),
    ]);
  });

  it("maps nothing for spans of no run, and rejects none of them", () => {
    const other = span("GET /health", "a3ce929d0e0e4736", [0, 1]);
    other.attributes = new Map();
    expect(spansToRunEvents([other])).toEqual({ events: [], rejected: { count: 0, reasons: [] } });
  });

  it.each([
    ["pruneTarget s3://bucket/orders", {}, "prune_target"],
    ["pull file", {}, "pull file"],
    ["database_dump", {}, "database_dump"],
    ["anything", { "backup.phase": "post-backup" }, "post-backup"],
  ])("names the phase of a %s span %s", (name, attributes, phase) => {
    const { events } = spansToRunEvents([span(name, "a3ce929d0e0e4736", [0, 1], attributes)]);
    expect(events[1]).toMatchObject({ type: "phase.started", phase });
  });

  it("starts a restore when a restore phase is among the spans", () => {
    const { events } = spansToRunEvents([span("database_restore", "a3ce929d0e0e4736", [0, 1])]);
    expect(events[0]).toMatchObject({ type: "run.started", operation: "restore" });
  });

  it.each([
    ["a phase outside the agent API's names", { "backup.phase": "Dump!" }],
    ["a run id over 64 characters", { "backup.run_id": "r".repeat(65) }],
  ])("rejects a span with %s", (_, attributes) => {
    const { events, rejected } = spansToRunEvents([
      span("dump", "a3ce929d0e0e4736", [0, 1], attributes),
    ]);
    expect(rejected.count).toBe(1);
    expect(events.filter((event) => event.type.startsWith("phase."))).toEqual([]);
  });

  it("omits a target name the agent API cannot carry", () => {
    const { events } = spansToRunEvents([upload("c4de929d0e1f5831", "Daily S3", 1)]);
    expect(events.find((event) => event.type === "phase.finished")).not.toHaveProperty("target");
  });
});
