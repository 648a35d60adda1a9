import type { OutgoingRequest } from "./transport";

/**
 * Stands in for `Request` inside openapi-fetch (its `Request` option): it keeps the URL and init
 * openapi-fetch built, and the transport hands them to fetch, which builds the only real Request
 * of the call. openapi-fetch reads nothing of it but `method`.
 */
export class PendingRequest implements OutgoingRequest {
  readonly method: string;
  readonly headers: Headers;
  readonly body: RequestInit["body"];
  readonly signal: AbortSignal | null;

  constructor(
    readonly url: string,
    init: RequestInit = {},
  ) {
    this.method = (init.method ?? "GET").toUpperCase();
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.body = init.body;
    this.signal = init.signal ?? null;
  }
}
