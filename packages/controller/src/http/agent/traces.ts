import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { AgentHandlers } from "@stowage/agent-server";
import { ApiError } from "@stowage/server-runtime";
import { requireOwnInstance, type AgentPrincipal } from "../../services/agent-principal";
import type { TraceExportBody } from "../../services/agent-traces/decode-trace-export";
import { encodeOtlpResponse } from "../../services/agent-traces/otlp-definitions";
import { ingestTraceExport, type RunEventSink } from "../../services/agent-traces/trace-ingestion";

type Handlers = Pick<AgentHandlers<AgentPrincipal>, "postTraces">;

export interface TraceHandlerDeps {
  /** Largest export accepted, in bytes as sent and once inflated: beyond it 413, nothing stored. */
  maxBodyBytes: number;
  events: RunEventSink;
}

export function traceHandlers(deps: TraceHandlerDeps): Handlers {
  return {
    postTraces: async (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      // A declared length over the limit is refused before a byte is read.
      if (Number(ctx.headers["content-length"] ?? 0) > deps.maxBodyBytes)
        throw tooLarge(deps.maxBodyBytes);
      const body: TraceExportBody =
        ctx.body instanceof Readable
          ? {
              encoding: "protobuf",
              bytes: await readExport(ctx.body, ctx.headers["content-encoding"], deps.maxBodyBytes),
            }
          : { encoding: "json", json: withinLimit(ctx.body, deps.maxBodyBytes) };
      const partialSuccess = ingestTraceExport(ctx.principal, body, deps.events);
      // OTLP/HTTP answers in the encoding of the request.
      if (body.encoding === "protobuf")
        return {
          status: 200,
          contentType: "application/x-protobuf",
          body: encodeOtlpResponse(partialSuccess),
        };
      return {
        status: 200,
        contentType: "application/json",
        body: partialSuccess
          ? {
              // int64 is a decimal string in OTLP JSON.
              partialSuccess: {
                rejectedSpans: String(partialSuccess.rejectedSpans),
                errorMessage: partialSuccess.errorMessage,
              },
            }
          : {},
      };
    },
  };
}

/** The protobuf body, inflated when gzip-encoded (the one encoding OTLP/HTTP names). */
async function readExport(
  stream: Readable,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  const coding = (encoding ?? "identity").trim().toLowerCase();
  if (coding !== "identity" && coding !== "gzip")
    throw new ApiError(
      415,
      "request.unsupported_media_type",
      `Content-Encoding ${coding} is not supported.`,
      { suggestion: { human: "Send the export uncompressed or gzip-compressed." } },
    );
  // pipeline, unlike pipe, passes a failure of the request on to the inflater, whose iteration
  // below then throws it; the callback has nothing left to do.
  const source = coding === "gzip" ? pipeline(stream, createGunzip(), () => undefined) : stream;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      // Counted after inflating, so a small gzip bomb is refused as soon as it grows too large.
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(bytes);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "request.invalid", "The body could not be read.", {
      details: [{ path: "/body", message: "is not valid gzip data, or ended early" }],
      cause: error,
    });
  }
  return Buffer.concat(chunks);
}

/**
 * OTLP JSON arrives parsed by the router, whose parser has its own, larger cap, and exporters
 * send it chunked, without a length: its size is taken from its JSON once more, which is what
 * was sent unless the sender added whitespace.
 */
function withinLimit(json: unknown, maxBytes: number): unknown {
  if (Buffer.byteLength(JSON.stringify(json)) > maxBytes) throw tooLarge(maxBytes);
  return json;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "request.too_large", `The trace export is over ${maxBytes} bytes.`, {
    suggestion: { human: "Export fewer spans per request (a smaller exporter batch size)." },
  });
}
