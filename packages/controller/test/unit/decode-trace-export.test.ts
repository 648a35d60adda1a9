import generatedRoot = require("@opentelemetry/otlp-transformer/build/src/generated/root");
import { ApiError } from "@stowage/server-runtime";
import { decodeTraceExport } from "../../src/services/agent-traces/decode-trace-export";
import { encodeOtlpResponse } from "../../src/services/agent-traces/otlp-definitions";

const TRACE = "4012af490cdd4b0b4b6b1252adb0d0f6";
const RUN_SPAN = "e9280cf0c77674d6";
const UPLOAD_SPAN = "75ecfdb9a241e3b6";

/** The request of the spec's `postTraces` example, in OTLP JSON. */
function otlpJson(spans: object[] = exampleSpans()) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "mysql-backup" } }] },
        scopeSpans: [{ scope: { name: "github.com/databacker/mysql-backup" }, spans }],
      },
    ],
  };
}

function exampleSpans(): object[] {
  return [
    {
      traceId: TRACE,
      spanId: RUN_SPAN,
      name: "run",
      kind: 1,
      startTimeUnixNano: "1764119700018000000",
      endTimeUnixNano: "1764119711904000000",
      attributes: [
        { key: "backup.run_id", value: { stringValue: "550e8400-e29b-41d4-a716-446655440000" } },
        { key: "backup.status", value: { stringValue: "ok" } },
      ],
      status: { code: 1 },
    },
    {
      traceId: TRACE,
      spanId: UPLOAD_SPAN,
      parentSpanId: RUN_SPAN,
      name: "upload",
      kind: "SPAN_KIND_INTERNAL",
      startTimeUnixNano: 1764119703412000000,
      endTimeUnixNano: "1764119711860000000",
      attributes: [
        { key: "backup.bytes", value: { intValue: "50541363" } },
        { key: "backup.target.name", value: { stringValue: "offsite" } },
        { key: "ratio", value: { doubleValue: 0.5 } },
        { key: "verified", value: { boolValue: true } },
        { key: "actual-schemas", value: { arrayValue: { values: [{ stringValue: "orders" }] } } },
      ],
      status: { code: "STATUS_CODE_ERROR", message: "s3: access denied" },
    },
  ];
}

/** OTLP JSON to binary protobuf, through the same generated definitions OTLP exporters use. */
function toProtobuf(json: ReturnType<typeof otlpJson>): Uint8Array {
  const { ExportTraceServiceRequest } = (
    generatedRoot as unknown as {
      opentelemetry: {
        proto: {
          collector: {
            trace: {
              v1: {
                ExportTraceServiceRequest: {
                  fromObject(plain: object): object;
                  encode(message: object): { finish(): Uint8Array };
                };
              };
            };
          };
        };
      };
    }
  ).opentelemetry.proto.collector.trace.v1;
  const binaryIds = json.resourceSpans.map((resource) => ({
    ...resource,
    scopeSpans: resource.scopeSpans.map((scope) => ({
      ...scope,
      spans: scope.spans.map((span) => {
        const ids = span as { traceId?: string; spanId?: string; parentSpanId?: string };
        return {
          ...span,
          traceId: Buffer.from(ids.traceId ?? "", "hex"),
          spanId: Buffer.from(ids.spanId ?? "", "hex"),
          parentSpanId: Buffer.from(ids.parentSpanId ?? "", "hex"),
        };
      }),
    })),
  }));
  return ExportTraceServiceRequest.encode(
    ExportTraceServiceRequest.fromObject({ resourceSpans: binaryIds }),
  ).finish();
}

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("decodeTraceExport", () => {
  it.each([
    ["OTLP JSON", () => ({ encoding: "json" as const, json: otlpJson() })],
    ["binary protobuf", () => ({ encoding: "protobuf" as const, bytes: toProtobuf(otlpJson()) })],
  ])("decodes %s to spans with hex ids, nanosecond times and scalar attributes", (_, body) => {
    const { spans, rejected } = decodeTraceExport(body());
    expect(rejected).toEqual({ count: 0, reasons: [] });
    expect(spans).toEqual([
      {
        traceId: TRACE,
        spanId: RUN_SPAN,
        parentSpanId: undefined,
        name: "run",
        startNanos: 1764119700018000000n,
        endNanos: 1764119711904000000n,
        attributes: new Map([
          ["backup.run_id", "550e8400-e29b-41d4-a716-446655440000"],
          ["backup.status", "ok"],
        ]),
        statusCode: 1,
        statusMessage: undefined,
      },
      {
        traceId: TRACE,
        spanId: UPLOAD_SPAN,
        parentSpanId: RUN_SPAN,
        name: "upload",
        startNanos: 1764119703412000000n,
        endNanos: 1764119711860000000n,
        attributes: new Map<string, string | number | boolean>([
          ["backup.bytes", 50541363],
          ["backup.target.name", "offsite"],
          ["ratio", 0.5],
          ["verified", true],
        ]),
        statusCode: 2,
        statusMessage: "s3: access denied",
      },
    ]);
  });

  it.each([
    ["an empty traceId", { traceId: "" }, "had no valid traceId"],
    ["an all-zero traceId", { traceId: "0".repeat(32) }, "had no valid traceId"],
    ["a 4-byte spanId", { spanId: "e9280cf0" }, "had no valid spanId"],
    ["no start time", { startTimeUnixNano: "0" }, "had no start time"],
    ["an end before the start", { endTimeUnixNano: "1" }, "ended before they started"],
  ])("rejects a span with %s and keeps the others", (_, change, reason) => {
    const [run, upload] = exampleSpans();
    const { spans, rejected } = decodeTraceExport({
      encoding: "json",
      json: otlpJson([{ ...run, ...change }, upload]),
    });
    expect(spans.map((span) => span.spanId)).toEqual([UPLOAD_SPAN]);
    expect(rejected.count).toBe(1);
    expect(rejected.reasons).toEqual([expect.stringMatching(/^1 spans /)]);
    expect(rejected.reasons[0]).toContain(reason);
  });

  it.each([
    ["truncated protobuf", { encoding: "protobuf" as const, bytes: Uint8Array.from([0x0a, 5, 1]) }],
    [
      "JSON whose resourceSpans is not an array",
      { encoding: "json" as const, json: { resourceSpans: 5 } },
    ],
    ["a JSON array", { encoding: "json" as const, json: [] }],
    ["JSON null", { encoding: "json" as const, json: null }],
  ])("answers %s with a 400 on /body", (_, body) => {
    const error = refusal(() => decodeTraceExport(body));
    expect(error).toMatchObject({ status: 400, code: "request.invalid" });
    expect(error.details).toEqual([{ path: "/body", message: expect.any(String) }]);
  });

  it("takes an empty request as no spans", () => {
    expect(decodeTraceExport({ encoding: "protobuf", bytes: new Uint8Array() })).toEqual({
      spans: [],
      rejected: { count: 0, reasons: [] },
    });
  });
});

describe("encodeOtlpResponse", () => {
  it("encodes full success as an empty message and partial success as its fields", () => {
    expect(encodeOtlpResponse(undefined)).toEqual(new Uint8Array());
    // Field 1 (partial_success) holding rejected_spans = 2 and error_message = "x".
    expect(Buffer.from(encodeOtlpResponse({ rejectedSpans: 2, errorMessage: "x" }))).toEqual(
      Buffer.from("0a050802120178", "hex"),
    );
  });
});
