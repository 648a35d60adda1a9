export interface RetryOptions {
  /** Further attempts after the first (default 2). */
  retries?: number;
  /** Base of the exponential backoff when the server names no `Retry-After` (default 100 ms). */
  minDelayMs?: number;
  /** Cap on any single wait, `Retry-After` included (default 30 s). */
  maxDelayMs?: number;
  /** Statuses worth another attempt (default 429 and 503: the server refused before doing anything). */
  statuses?: number[];
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  retries: 2,
  minDelayMs: 100,
  maxDelayMs: 30_000,
  statuses: [429, 503],
};

/** RFC 9110 section 10.2.3: delay-seconds or an HTTP-date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): spreads retrying clients apart. */
export function backoffMs(
  attempt: number,
  policy: Required<RetryOptions>,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function delayFor(
  response: Response,
  attempt: number,
  policy: Required<RetryOptions>,
): number {
  const named = retryAfterMs(response.headers.get("retry-after"));
  return Math.min(policy.maxDelayMs, named ?? backoffMs(attempt, policy));
}

export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
