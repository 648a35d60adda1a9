import { randomUUID } from "node:crypto";
import { readErrorBody, StowageApiError } from "./errors";
import { DEFAULT_RETRY, delayFor, sleep, type RetryOptions } from "./retry-policy";

/** Supplies bearer tokens; asked again with `forceRefresh` once after a 401. */
export interface TokenProvider {
  getToken(options: { forceRefresh: boolean }): string | Promise<string>;
}

export interface TransportOptions {
  auth?: TokenProvider;
  /** The fetch to call; defaults to the global one. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** An undici `Dispatcher` (e.g. an `Agent` with a client certificate), passed to fetch as `dispatcher`. */
  dispatcher?: unknown;
  retry?: RetryOptions | false;
  /** Per attempt; the caller's own `signal` still aborts the whole call. */
  timeoutMs?: number;
  /** Makes the `X-Request-Id` of each call (default: a random UUID); retries keep the call's id. */
  requestId?: () => string;
  /** Throw a `StowageApiError` for every non-2xx answer instead of returning it. */
  throwOnError?: boolean;
}

/**
 * What one attempt sends. Not a `Request`: fetch builds its own from a URL and an init, and each
 * extra Request, clone or Headers copy is paid on every call (scripts/bench/client.ts).
 */
export interface OutgoingRequest {
  url: string;
  method: string;
  /**
   * Owned by this call: the transport sets the request id and the token on it. Absent when the
   * call has no header of its own: the transport then sends a plain record, which spares fetch a
   * Headers object to build and copy on every call.
   */
  headers?: Headers;
  body?: RequestInit["body"];
  signal?: AbortSignal | null;
}

export const REQUEST_ID_HEADER = "x-request-id";

/**
 * Sends one call: request id, bearer token (refreshed once on 401), retries with backoff that
 * honour `Retry-After`, per-attempt timeout. `makeRequest` is called per attempt, so a body that is
 * a stream comes fresh from its factory each time: a stream sent once cannot be read again.
 */
export async function send(
  makeRequest: () => OutgoingRequest,
  options: TransportOptions,
): Promise<Response> {
  const policy =
    options.retry === false
      ? { ...DEFAULT_RETRY, retries: 0 }
      : { ...DEFAULT_RETRY, ...options.retry };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  let requestId: string | undefined;
  let callerAuthorization: boolean | undefined;
  let refreshed = false;
  let forceRefresh = false;
  for (let attempt = 0; ; attempt++) {
    const request = makeRequest();
    requestId ??= request.headers?.get(REQUEST_ID_HEADER) ?? (options.requestId ?? randomUUID)();
    callerAuthorization ??= request.headers?.has("authorization") ?? false;
    let authorization: string | undefined;
    if (options.auth && !callerAuthorization) {
      // Providers mostly answer from memory: awaiting a plain string would still cost a turn of
      // the microtask queue on every call.
      const token = options.auth.getToken({ forceRefresh });
      authorization = `Bearer ${typeof token === "string" ? token : await token}`;
    }
    const headers = withCallHeaders(request.headers, requestId, authorization);
    const response = await fetchImpl(request.url, fetchInit(request, headers, options));
    if (response.status === 401 && options.auth && !callerAuthorization && !refreshed) {
      refreshed = true;
      forceRefresh = true;
      await response.body?.cancel();
      attempt--;
      continue;
    }
    forceRefresh = false;
    if (attempt < policy.retries && policy.statuses.includes(response.status)) {
      await response.body?.cancel();
      await sleep(delayFor(response, attempt, policy), request.signal);
      continue;
    }
    // 304 is not `ok` to fetch, but it is the answer a conditional request asked for.
    if (!response.ok && response.status !== 304 && options.throwOnError) {
      throw new StowageApiError(
        response.status,
        await readErrorBody(response),
        response,
        requestId,
      );
    }
    return response;
  }
}

function withCallHeaders(
  headers: Headers | undefined,
  requestId: string,
  authorization: string | undefined,
): Headers | Record<string, string> {
  if (headers === undefined) {
    return authorization === undefined
      ? { [REQUEST_ID_HEADER]: requestId }
      : { [REQUEST_ID_HEADER]: requestId, authorization };
  }
  headers.set(REQUEST_ID_HEADER, requestId);
  if (authorization !== undefined) headers.set("authorization", authorization);
  return headers;
}

function fetchInit(
  request: OutgoingRequest,
  headers: Headers | Record<string, string>,
  options: TransportOptions,
): RequestInit {
  const signal = options.timeoutMs
    ? AbortSignal.any([
        ...(request.signal ? [request.signal] : []),
        AbortSignal.timeout(options.timeoutMs),
      ])
    : request.signal;
  // `dispatcher` and `duplex` are undici's extensions of RequestInit. The dispatcher is typed
  // `unknown` in the options: an Agent from the undici package is not the undici-types Dispatcher
  // that Node's fetch declares, though it works at run time.
  const init: Omit<RequestInit, "dispatcher"> & { duplex?: "half"; dispatcher?: unknown } = {
    method: request.method,
    headers,
    body: request.body,
    signal,
  };
  if (request.body instanceof ReadableStream) init.duplex = "half";
  if (options.dispatcher) init.dispatcher = options.dispatcher;
  return init as RequestInit;
}
