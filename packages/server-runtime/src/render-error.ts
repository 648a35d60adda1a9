import type { ApiError } from "./api-error";

export interface ErrorSchema {
  schema?: string;
  style: "envelope" | "message";
}

/** The error body in the spec's own shape: the stowage envelope, or `{ message }` for compat APIs. */
export function renderError(
  error: ApiError,
  schema: ErrorSchema,
  requestId: string,
): Record<string, unknown> {
  if (schema.style === "message") return { message: error.message };
  return {
    schema: "stowage.v1",
    error: {
      code: error.code,
      message: error.message,
      ...(error.subject ? { subject: error.subject } : {}),
      ...(error.details ? { details: error.details } : {}),
      ...(error.suggestion ? { suggestion: error.suggestion } : {}),
      request_id: requestId,
    },
  };
}
