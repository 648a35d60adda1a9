import type { Request } from "express";

/** DESIGN section 4: a page with more after it carries `Link: <...>; rel="next"` beside `next_marker`. */
export function nextLink(req: Request, nextMarker: string | null): Record<string, string> {
  if (nextMarker === null) return {};
  // The path as the request sent it (the route matched it), the query with the marker replaced.
  const [path, query = ""] = req.originalUrl.split("?", 2);
  const search = new URLSearchParams(query);
  search.set("marker", nextMarker);
  return { link: `<${path}?${search.toString()}>; rel="next"` };
}
