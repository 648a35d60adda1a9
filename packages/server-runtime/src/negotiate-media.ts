export interface Negotiation {
  produces: readonly string[];
  aliases: Readonly<Record<string, string>>;
  default?: string;
}

export interface NegotiatedMedia {
  /** The documented media type the handler must produce. */
  media: string;
  /** What the reply's `Content-Type` says: the alias the client asked for, if it asked for one. */
  contentType: string;
}

interface AcceptRange {
  type: string;
  q: number;
  order: number;
}

/** RFC 9110 section 12.5.1, with the specificity rule simplified to "exact over wildcard". */
export function parseAccept(header: string): AcceptRange[] {
  return header
    .split(",")
    .map((part, order) => {
      const [type, ...parameters] = part.trim().split(";");
      const qParameter = parameters.map((p) => p.trim()).find((p) => /^q=/i.test(p));
      const q = qParameter ? Number(qParameter.slice(2)) : 1;
      return {
        type: type.trim().toLowerCase(),
        q: Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 0,
        order,
      };
    })
    .filter((range) => range.type !== "" && range.q > 0)
    .sort((a, b) => b.q - a.q || specificity(b.type) - specificity(a.type) || a.order - b.order);
}

function specificity(type: string): number {
  if (type === "*/*") return 0;
  return type.endsWith("/*") ? 1 : 2;
}

const VERSIONED = /^(.+)\.v(\d+)(\+[a-z0-9.-]+)$/;

/**
 * Picks what to serve for an `Accept` header: the default for none or `*\/*`, an alias as the type it
 * names, a vendor type without `.vN` as its highest version (DESIGN section 5); undefined means 406.
 */
export function negotiateMedia(
  accept: string | undefined,
  negotiation: Negotiation,
): NegotiatedMedia | undefined {
  if (negotiation.produces.length === 0) return undefined;
  const fallback = negotiation.default ?? negotiation.produces[0];
  if (accept === undefined || accept.trim() === "")
    return { media: fallback, contentType: fallback };
  for (const range of parseAccept(accept)) {
    const chosen = match(range.type, negotiation, fallback);
    if (chosen) return chosen;
  }
  return undefined;
}

function match(
  type: string,
  { produces, aliases }: Negotiation,
  fallback: string,
): NegotiatedMedia | undefined {
  if (type === "*/*") return { media: fallback, contentType: fallback };
  const exact = produces.find((media) => media.toLowerCase() === type);
  if (exact) return { media: exact, contentType: exact };
  const alias = Object.keys(aliases).find((name) => name.toLowerCase() === type);
  if (alias) return { media: aliases[alias], contentType: alias };
  const unversioned = highestVersion(type, produces);
  if (unversioned) return { media: unversioned, contentType: unversioned };
  if (type.endsWith("/*")) {
    const prefix = type.slice(0, -1);
    const candidates = [fallback, ...produces];
    const wildcard = candidates.find((media) => media.toLowerCase().startsWith(prefix));
    if (wildcard) return { media: wildcard, contentType: wildcard };
  }
  return undefined;
}

/** `application/vnd.x.config+json` -> the highest `application/vnd.x.config.vN+json` served. */
function highestVersion(type: string, produces: readonly string[]): string | undefined {
  let best: { media: string; version: number } | undefined;
  for (const media of produces) {
    const parsed = VERSIONED.exec(media.toLowerCase());
    if (!parsed || `${parsed[1]}${parsed[3]}` !== type) continue;
    const version = Number(parsed[2]);
    if (!best || version > best.version) best = { media, version };
  }
  return best?.media;
}
