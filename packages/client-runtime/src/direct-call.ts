import type { HeadersOptions } from "openapi-fetch";

/**
 * A call to a verb method (`GET`, `DELETE`, ...) that asks nothing of openapi-fetch beyond what it
 * does by default: no body, and none of its per-call options (`parseAs`, serializers, `fetch`,
 * `baseUrl`, `middleware`). The client sends such a call itself, with openapi-fetch's own URL and
 * header helpers: going through openapi-fetch costs a header merge into a new Headers, a stand-in
 * Request, several object copies and two more promises per call, which kept the client above 1.10x
 * of bare fetch (scripts/bench/client.ts).
 */
export interface DirectInit {
  params?: {
    path?: Record<string, unknown>;
    query?: Record<string, unknown>;
    header?: HeadersOptions;
  };
  headers?: HeadersOptions;
  signal?: AbortSignal | null;
  body?: undefined;
}

const DIRECT_KEYS = new Set(["params", "headers", "signal", "body"]);

export function isDirectCall(init: object | undefined): init is DirectInit | undefined {
  if (init === undefined) return true;
  for (const key in init) {
    if (!DIRECT_KEYS.has(key)) return false;
  }
  return (init as { body?: unknown }).body === undefined;
}

/** openapi-fetch's reading of an answer with its default `parseAs: "json"`, step for step. */
export async function readCallResult(
  response: Response,
  method: string,
): Promise<{ response: Response; data?: unknown; error?: unknown }> {
  const contentLength = response.headers.get("content-length");
  if (
    response.status === 204 ||
    method === "HEAD" ||
    (contentLength === "0" && !response.headers.get("transfer-encoding")?.includes("chunked"))
  ) {
    return response.ok ? { data: undefined, response } : { error: undefined, response };
  }
  if (response.ok) {
    if (contentLength) return { data: (await response.json()) as unknown, response };
    const raw = await response.text();
    return { data: raw ? (JSON.parse(raw) as unknown) : undefined, response };
  }
  const text = await response.text();
  try {
    return { error: JSON.parse(text) as unknown, response };
  } catch {
    return { error: text, response };
  }
}
