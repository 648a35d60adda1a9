import { ApiError } from "@stowage/server-runtime";

export interface PageRequest {
  limit: number;
  /** The last key of the previous page, decoded from the opaque marker. */
  after?: string;
}

export interface Page<T> {
  items: T[];
  next_marker: string | null;
}

/** Markers are opaque to clients: base64url JSON, so the key format can change without breaking them. */
export function pageRequest(query: { limit?: number; marker?: string }): PageRequest {
  const limit = query.limit ?? 50;
  if (query.marker === undefined) return { limit };
  try {
    const decoded = JSON.parse(Buffer.from(query.marker, "base64url").toString("utf8")) as {
      after?: unknown;
    };
    if (typeof decoded.after === "string") return { limit, after: decoded.after };
  } catch {
    // Falls through to the 400 below.
  }
  throw new ApiError(400, "request.invalid", "The marker is not one this server issued.", {
    details: [{ path: "/query/marker", message: "is not a valid marker" }],
  });
}

/** Stores fetch `limit + 1` rows: the extra one only says whether another page exists. */
export function toPage<T>(rows: T[], request: PageRequest, keyOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, request.limit);
  const more = rows.length > request.limit;
  const last = items[items.length - 1];
  return {
    items,
    next_marker:
      more && last
        ? Buffer.from(JSON.stringify({ after: keyOf(last) })).toString("base64url")
        : null,
  };
}
