import { ApiError } from "@stowage/server-runtime";
import {
  decodeOtlpJsonObject,
  decodeOtlpProtobuf,
  type OtlpAnyValue,
  type OtlpKeyValue,
  type OtlpSpan,
  type OtlpTraceRequest,
} from "./otlp-definitions";

/** The scalar attribute values the backup span convention uses; arrays and maps are not read. */
export type SpanAttribute = string | number | boolean;

/** One span as the run mapping reads it: ids in lowercase hex, times in Unix nanoseconds. */
export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startNanos: bigint;
  endNanos: bigint;
  attributes: ReadonlyMap<string, SpanAttribute>;
  /** OTLP `Status.code`: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage?: string;
}

export interface DecodedTraceExport {
  spans: DecodedSpan[];
  /** Spans dropped as unusable (OTLP partial success), with why. */
  rejected: { count: number; reasons: string[] };
}

/** The body as it arrived: binary protobuf bytes, or OTLP JSON parsed by the router. */
export type TraceExportBody =
  { encoding: "protobuf"; bytes: Uint8Array } | { encoding: "json"; json: unknown };

/**
 * An OTLP/HTTP `ExportTraceServiceRequest` body, binary protobuf bytes or parsed OTLP JSON, to
 * its spans. A body that is not such a message is a 400; spans whose ids or times are unusable
 * are counted as rejected, as OTLP's partial success asks, and the rest are kept.
 */
export function decodeTraceExport(body: TraceExportBody): DecodedTraceExport {
  const request = decodeRequest(body);
  const spans: DecodedSpan[] = [];
  const reasons = new Map<string, number>();
  for (const resourceSpans of request.resourceSpans)
    for (const scopeSpans of resourceSpans.scopeSpans)
      for (const span of scopeSpans.spans) {
        const decoded = decodeSpan(span);
        if (typeof decoded === "string") reasons.set(decoded, (reasons.get(decoded) ?? 0) + 1);
        else spans.push(decoded);
      }
  let count = 0;
  for (const n of reasons.values()) count += n;
  return {
    spans,
    rejected: { count, reasons: [...reasons].map(([reason, n]) => `${n} spans ${reason}`) },
  };
}

function decodeRequest(body: TraceExportBody): OtlpTraceRequest {
  try {
    if (body.encoding === "protobuf") return decodeOtlpProtobuf(body.bytes);
    const { json } = body;
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw new TypeError("an ExportTraceServiceRequest must be a JSON object");
    return decodeOtlpJsonObject(withBinaryIds(json));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ApiError(
      400,
      "request.invalid",
      "The body is not an OTLP ExportTraceServiceRequest.",
      {
        details: [{ path: "/body", message }],
        cause: error,
      },
    );
  }
}

/** 9999-12-31T23:59:59.999Z: RFC 3339 has four-digit years. */
const LAST_RFC3339_NANOS = 253_402_300_799_999n * 1_000_000n;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const ID_FIELDS = ["traceId", "spanId", "parentSpanId"] as const;

/**
 * OTLP JSON writes trace and span ids in hex where protobuf's JSON mapping (and so the decoder)
 * expects base64 (OTLP specification, "JSON Protobuf Encoding"). Hex ids become bytes before
 * decoding; anything else is left for the decoder to accept or refuse.
 */
function withBinaryIds(json: object): object {
  const resourceSpans = (json as { resourceSpans?: unknown }).resourceSpans;
  if (!Array.isArray(resourceSpans)) return json;
  return {
    ...json,
    resourceSpans: resourceSpans.map((resource: unknown) =>
      mapArrayField(resource, "scopeSpans", (scope) =>
        mapArrayField(scope, "spans", hexIdsToBytes),
      ),
    ),
  };
}

function mapArrayField(value: unknown, field: string, map: (item: unknown) => unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const items = (value as Record<string, unknown>)[field];
  return Array.isArray(items) ? { ...value, [field]: items.map(map) } : value;
}

function hexIdsToBytes(span: unknown): unknown {
  if (typeof span !== "object" || span === null) return span;
  const copy: Record<string, unknown> = { ...span };
  for (const field of ID_FIELDS) {
    const id = copy[field];
    if (typeof id === "string")
      copy[field] = HEX.test(id) ? Buffer.from(id, "hex") : id === "" ? undefined : id;
  }
  return copy;
}

function decodeSpan(span: OtlpSpan): DecodedSpan | string {
  const traceId = hexId(span.traceId, 16);
  const spanId = hexId(span.spanId, 8);
  if (!traceId) return "had no valid traceId (16 bytes, not all zero)";
  if (!spanId) return "had no valid spanId (8 bytes, not all zero)";
  const startNanos = BigInt(span.startTimeUnixNano ?? "0");
  const endNanos = BigInt(span.endTimeUnixNano ?? "0");
  if (startNanos <= 0n || endNanos < startNanos || endNanos > LAST_RFC3339_NANOS)
    return "had no start time, ended before they started or ended after the year 9999";
  return {
    traceId,
    spanId,
    parentSpanId: hexId(span.parentSpanId, 8),
    name: span.name ?? "",
    startNanos,
    endNanos,
    attributes: scalarAttributes(span.attributes),
    statusCode: span.status?.code ?? 0,
    statusMessage: span.status?.message || undefined,
  };
}

function hexId(id: Uint8Array | undefined, length: number): string | undefined {
  if (!id || id.length !== length || id.every((byte) => byte === 0)) return undefined;
  return Buffer.from(id).toString("hex");
}

function scalarAttributes(attributes: readonly OtlpKeyValue[]): Map<string, SpanAttribute> {
  const scalars = new Map<string, SpanAttribute>();
  for (const { key, value } of attributes) {
    const scalar = value && scalarOf(value);
    if (scalar !== undefined) scalars.set(key, scalar);
  }
  return scalars;
}

function scalarOf(value: OtlpAnyValue): SpanAttribute | undefined {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.intValue !== undefined) {
    // Beyond 2^53 a count is not exact as a number; no convention attribute gets that large.
    const int = Number(value.intValue);
    return Number.isSafeInteger(int) ? int : undefined;
  }
  return undefined;
}
