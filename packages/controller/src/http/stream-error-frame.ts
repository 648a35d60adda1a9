import type { components } from "@stowage/control-server";
import type { ApiError } from "@stowage/server-runtime";

/**
 * The last frame of an NDJSON event stream whose producer failed (DESIGN 4): the stream, not the
 * job, failed, so the suggestion is to reconnect. The body is the error envelope's `error`.
 */
export function streamErrorFrame(
  error: ApiError,
  requestId: string,
): components["schemas"]["StreamErrorFrame"] {
  return {
    schema: "stowage.v1",
    severity: "error",
    op: "error",
    subject: {},
    body: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      suggestion: error.suggestion ?? { human: "Reconnect to the stream." },
      request_id: requestId,
    },
    at: new Date().toISOString(),
    final: true,
  };
}
