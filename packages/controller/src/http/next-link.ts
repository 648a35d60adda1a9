import type { Request } from "express";

/** The last link made: a client polling a page asks for the same one again and again. */
let last = { url: "", marker: "", link: "" };

/** DESIGN section 4: a page with more after it carries `Link: <...>; rel="next"` beside `next_marker`. */
export function nextLink(req: Request, nextMarker: string | null): Record<string, string> {
  if (nextMarker === null) return {};
  const url = req.originalUrl;
  if (url !== last.url || nextMarker !== last.marker) {
    // The path as the request sent it (the route matched it), the query with the marker replaced.
    const [path, query = ""] = url.split("?", 2);
    const search = new URLSearchParams(query);
    search.set("marker", nextMarker);
    last = { url, marker: nextMarker, link: `<${path}?${search.toString()}>; rel="next"` };
  }
  return { link: last.link };
}
