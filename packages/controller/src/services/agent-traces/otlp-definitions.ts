/**
 * The OTLP trace messages, from the protobufjs static module `@opentelemetry/otlp-transformer`
 * generates from opentelemetry-proto. Release 0.203.0: it runs on Node 20 (the 0.30x line needs
 * Node 22.15), still ships trace decoders (0.217 kept only metrics, 0.218 dropped protobufjs),
 * and matches the exporters the tests send with, whose later releases load `http` with a dynamic
 * `import()` that jest's CommonJS runtime refuses. Pinned exactly: this path is not the
 * package's public API.
 */
import generatedRoot = require("@opentelemetry/otlp-transformer/build/src/generated/root");

/** `opentelemetry.proto.common.v1.AnyValue`, with 64-bit integers as decimal strings. */
export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: OtlpAnyValue[] };
  kvlistValue?: { values: OtlpKeyValue[] };
  bytesValue?: Uint8Array;
}

export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

/** `opentelemetry.proto.trace.v1.Status.StatusCode`. */
export const OTLP_STATUS_ERROR = 2;

export interface OtlpSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes: OtlpKeyValue[];
  status?: { code?: number; message?: string };
}

export interface OtlpResourceSpans {
  resource?: { attributes: OtlpKeyValue[] };
  scopeSpans: { spans: OtlpSpan[] }[];
}

/** `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest` as a plain object. */
export interface OtlpTraceRequest {
  resourceSpans: OtlpResourceSpans[];
}

/** `ExportTraceServiceResponse.partial_success`. */
export interface OtlpPartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

interface ConversionOptions {
  longs: typeof String;
  enums: typeof Number;
  arrays: boolean;
}

/** The part of a protobufjs static message class used here. */
interface StaticMessage<Plain> {
  decode(bytes: Uint8Array): object;
  fromObject(plain: object): object;
  toObject(message: object, options: ConversionOptions): Plain;
  encode(message: object): { finish(): Uint8Array };
}

interface TraceCollectorV1 {
  ExportTraceServiceRequest: StaticMessage<OtlpTraceRequest>;
  ExportTraceServiceResponse: StaticMessage<object>;
}

// The package types its generated module as a reflection `Root`, which a static module is not;
// this is the one place its shape is asserted, and the unit tests exercise every member used.
const collector = (
  generatedRoot as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: TraceCollectorV1 } } } };
  }
).opentelemetry.proto.collector.trace.v1;

// Longs as decimal strings keep nanosecond timestamps exact (they exceed 2^53); arrays: true
// gives every repeated field, present or not, so readers need no undefined checks.
const PLAIN: ConversionOptions = { longs: String, enums: Number, arrays: true };

/** Binary protobuf to the plain request; throws on bytes that are not a valid message. */
export function decodeOtlpProtobuf(bytes: Uint8Array): OtlpTraceRequest {
  const message = collector.ExportTraceServiceRequest.decode(bytes);
  return collector.ExportTraceServiceRequest.toObject(message, PLAIN);
}

/**
 * A parsed body in protobuf's canonical JSON mapping (bytes as base64, enums by name or number,
 * int64 as strings or numbers) to the plain request; throws a TypeError naming the field whose
 * shape is wrong.
 */
export function decodeOtlpJsonObject(json: object): OtlpTraceRequest {
  const message = collector.ExportTraceServiceRequest.fromObject(json);
  return collector.ExportTraceServiceRequest.toObject(message, PLAIN);
}

export function encodeOtlpResponse(partialSuccess: OtlpPartialSuccess | undefined): Uint8Array {
  return collector.ExportTraceServiceResponse.encode(
    collector.ExportTraceServiceResponse.fromObject(partialSuccess ? { partialSuccess } : {}),
  ).finish();
}
