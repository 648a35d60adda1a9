import type { Readable } from "node:stream";
import { ApiError, ndjsonLines, type NdjsonLine } from "@stowage/server-runtime";
import type { AgentHandlers } from "@stowage/agent-server";
import { requireOwnInstance, type AgentPrincipal } from "../../services/agent-principal";
import type { AgentEventsService } from "../../services/agent-events/agent-events-service";
import type { AgentLog, LogIngestion } from "../../services/agent-logs/log-ingestion";
import type { EndpointMap } from "../../services/endpoint-map";

type Handlers = Pick<
  AgentHandlers<AgentPrincipal>,
  "getLogCapability" | "postLog" | "getTraceCapability" | "postEvents"
>;

export interface TelemetryDeps {
  logs: LogIngestion;
  events: AgentEventsService;
  endpoints: () => EndpointMap;
  /** The largest log body (JSON or NDJSON) accepted; larger is 413 with nothing stored. */
  logMaxBytes: number;
  /** The largest OTLP export body, as `getTraceCapability` announces it. */
  traceMaxBytes: number;
}

const LOG_MEDIA_TYPES = ["application/json", "application/x-ndjson"];
const TRACE_MEDIA_TYPES = ["application/x-protobuf", "application/json"];

export function telemetryHandlers(deps: TelemetryDeps): Handlers {
  const routeOf = (instance: string, resource: "log" | "traces") =>
    `${deps.endpoints().reporting}/telemetry/${encodeURIComponent(instance)}/${resource}`;
  return {
    getLogCapability: (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      return {
        status: 200,
        body: {
          log: routeOf(ctx.params.instance, "log"),
          max_body_bytes: deps.logMaxBytes,
          media_types: LOG_MEDIA_TYPES,
        },
      };
    },
    getTraceCapability: (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      return {
        status: 200,
        body: {
          trace: routeOf(ctx.params.instance, "traces"),
          max_body_bytes: deps.traceMaxBytes,
          media_types: TRACE_MEDIA_TYPES,
        },
      };
    },
    postLog: async (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      // A declared length over the limit is refused before a byte is read.
      if (Number(ctx.headers["content-length"] ?? 0) > deps.logMaxBytes)
        throw tooLarge(deps.logMaxBytes);
      const lines = isStream(ctx.body)
        ? withinLimit(ndjsonLines(ctx.body), ctx.req, deps.logMaxBytes)
        : [[{ value: ctx.body, text: JSON.stringify(ctx.body) }]];
      const receipt = await deps.logs.ingest(ctx.principal, lines, ctx.headers["idempotency-key"]);
      return {
        status: 201,
        headers: {
          location: `/engines/telemetry/${encodeURIComponent(ctx.params.instance)}/log/${receipt.id}`,
        },
        body: receipt,
      };
    },
    postEvents: (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      return {
        status: 200,
        body: deps.events.ingestAgentEvents(ctx.principal, ctx.body.events),
      };
    },
  };
}

function isStream(body: AgentLog | AsyncIterable<AgentLog>): body is AsyncIterable<AgentLog> {
  return Symbol.asyncIterator in body;
}

/**
 * Passes the body's lines on while the bytes received stay within `max`. A chunked body has no
 * declared length, so the request's bytes are counted as the line reader pulls them: its
 * 'readable' listener controls the flow, and 'data' fires for every chunk it reads. The
 * listener is added in the same tick the reader starts, so no chunk flows past either.
 *
 * Over the limit, the rest of the body is still read and dropped, then 413: leaving the
 * iterator early would destroy the request, and with it the socket the 413 must go out on.
 */
async function* withinLimit(
  lines: AsyncIterable<NdjsonLine<AgentLog>[]>,
  req: Readable,
  max: number,
): AsyncGenerator<NdjsonLine<AgentLog>[]> {
  let received = 0;
  const count = (chunk: Buffer | string) => {
    received += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
  };
  req.on("data", count);
  try {
    for await (const batch of lines) if (received <= max) yield batch;
  } catch (error) {
    // A bad line past the limit: the size is the answer, as for the lines before it.
    if (received > max && error instanceof ApiError && error.status === 400) throw tooLarge(max);
    throw error;
  } finally {
    req.off("data", count);
  }
  if (received > max) throw tooLarge(max);
}

function tooLarge(max: number): ApiError {
  return new ApiError(413, "request.too_large", `The log body is over ${max} bytes.`, {
    suggestion: { human: `Split the lines into requests of at most ${max} bytes.` },
  });
}
