/**
 * Whether `If-None-Match` names the current representation (RFC 9110 section 13.1.2): `*` matches
 * any current representation; otherwise any listed tag matches by the weak comparison (section
 * 8.8.3.2), where `W/"x"` and `"x"` are the same tag. A header that parses to no tag matches none.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  const current = opaqueTag(etag);
  // A quoted tag may contain commas, so tags are found by their quotes, not by splitting.
  for (const match of header.matchAll(/(?:W\/)?("[^"]*")/g)) if (match[1] === current) return true;
  return false;
}

function opaqueTag(etag: string): string {
  return etag.startsWith("W/") ? etag.slice(2) : etag;
}
