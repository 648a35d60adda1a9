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
  fetch?: (input: Request, init?: RequestInit) => Promise<Response>;
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

export const REQUEST_ID_HEADER = "x-request-id";

/**
 * Sends one call: request id, bearer token (refreshed once on 401), retries with backoff that
 * honour `Retry-After`, per-attempt timeout. `makeRequest` builds a fresh Request per attempt,
 * because a body stream that was sent once cannot be read again.
 */
export async function send(
  makeRequest: () => Request,
  options: TransportOptions,
): Promise<Response> {
  const policy =
    options.retry === false
      ? { ...DEFAULT_RETRY, retries: 0 }
      : { ...DEFAULT_RETRY, ...options.retry };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const init = options.dispatcher ? ({ dispatcher: options.dispatcher } as RequestInit) : undefined;
  let requestId: string | undefined;
  let refreshed = false;
  let forceRefresh = false;
  for (let attempt = 0; ; attempt++) {
    const original = makeRequest();
    requestId ??= original.headers.get(REQUEST_ID_HEADER) ?? (options.requestId ?? randomUUID)();
    const headers = new Headers(original.headers);
    headers.set(REQUEST_ID_HEADER, requestId);
    if (options.auth && !headers.has("authorization")) {
      headers.set("authorization", `Bearer ${await options.auth.getToken({ forceRefresh })}`);
    }
    const signals = [
      original.signal,
      ...(options.timeoutMs ? [AbortSignal.timeout(options.timeoutMs)] : []),
    ];
    const request = new Request(original, { headers, signal: AbortSignal.any(signals) });
    const response = await fetchImpl(request, init);
    if (response.status === 401 && options.auth && !refreshed) {
      refreshed = true;
      forceRefresh = true;
      await response.body?.cancel();
      attempt--;
      continue;
    }
    forceRefresh = false;
    if (attempt < policy.retries && policy.statuses.includes(response.status)) {
      await response.body?.cancel();
      await sleep(delayFor(response, attempt, policy), original.signal);
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
