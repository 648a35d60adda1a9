import { randomBytes } from "node:crypto";

/**
 * Opaque ids that sort by creation time (a millisecond timestamp, then randomness), so keyset
 * pagination on the primary key returns oldest first without a second index.
 */
export function newId(prefix: string, now = Date.now()): string {
  return `${prefix}_${now.toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
}

let formattedAt = Number.NaN;
let formatted = "";

/**
 * The time (ISO 8601, UTC, milliseconds), formatted once per millisecond however often it is
 * asked: every answer and every log line carries it.
 */
export function nowIso(): string {
  const now = Date.now();
  if (now !== formattedAt) {
    formatted = new Date(now).toISOString();
    formattedAt = now;
  }
  return formatted;
}
