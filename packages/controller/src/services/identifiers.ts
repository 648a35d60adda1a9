import { randomBytes } from "node:crypto";

/**
 * Opaque ids that sort by creation time (a millisecond timestamp, then randomness), so keyset
 * pagination on the primary key returns oldest first without a second index.
 */
export function newId(prefix: string, now = Date.now()): string {
  return `${prefix}_${now.toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
}

export function nowIso(): string {
  return new Date().toISOString();
}
