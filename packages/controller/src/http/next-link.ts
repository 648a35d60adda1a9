import type { Request } from "express";

/** DESIGN section 4: a page with more after it carries `Link: <...>; rel="next"` beside `next_marker`. */
export function nextLink(req: Request, nextMarker: string | null): Record<string, string> {
  if (nextMarker === null) return {};
  const url = new URL(req.originalUrl, "http://relative.invalid");
  url.searchParams.set("marker", nextMarker);
  return { link: `<${url.pathname}${url.search}>; rel="next"` };
}
