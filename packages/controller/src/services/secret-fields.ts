import { createHash } from "node:crypto";

/**
 * What a write-only secret is compared by (idempotent creates, "did this patch change it?"), so
 * comparisons handle a digest rather than copies of the plaintext. Never stored, never answered.
 */
export function secretDigest(secret: string | undefined): string | null {
  return secret === undefined ? null : createHash("sha256").update(secret, "utf8").digest("hex");
}

/**
 * Whether a URL carries credentials (`scheme://user:pass@host`). Such a URL would be answered,
 * logged and audited as a plain setting, so credentials belong in the write-only fields instead.
 */
export function hasCredentialsInUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== "" || parsed.password !== "";
  } catch {
    // Not parseable as a URL: the schema's pattern or format decides whether it is acceptable.
    return false;
  }
}

/** Copies the members of `source` named in `keys` that are present (not `undefined`). */
export function pickDefined(
  source: Readonly<Record<string, unknown>> | undefined,
  keys: readonly string[],
): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  if (!source) return picked;
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
