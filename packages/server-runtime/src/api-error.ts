export interface ErrorDetail {
  path: string;
  message: string;
}

export interface Suggestion {
  human: string;
  command?: string;
  doc_url?: string;
}

export interface ApiErrorInit {
  details?: ErrorDetail[];
  suggestion?: Suggestion;
  subject?: Record<string, unknown>;
  /** Extra response headers, e.g. `Retry-After` with a 429. */
  headers?: Record<string, string>;
  /** Logged with the request id, never sent. */
  cause?: unknown;
}

/** The one error type of a stowage server: thrown anywhere, rendered as the spec's error schema. */
export class ApiError extends Error {
  readonly details?: ErrorDetail[];
  readonly suggestion?: Suggestion;
  readonly subject?: Record<string, unknown>;
  readonly headers?: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    init: ApiErrorInit = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ApiError";
    this.details = init.details;
    this.suggestion = init.suggestion;
    this.subject = init.subject;
    this.headers = init.headers;
  }
}

/** DESIGN section 4: the dotted code for each status when nothing more specific is known. */
export const CODE_BY_STATUS: Record<number, string> = {
  400: "request.invalid",
  401: "auth.required",
  403: "authz.denied",
  404: "resource.not_found",
  405: "request.method_not_allowed",
  406: "request.not_acceptable",
  409: "resource.conflict",
  410: "resource.gone",
  412: "precondition.failed",
  413: "request.too_large",
  415: "request.unsupported_media_type",
  422: "verify.failed",
  429: "rate.limited",
  500: "internal",
  503: "storage.unavailable",
};

export function codeForStatus(status: number): string {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? "internal" : "request.invalid");
}
