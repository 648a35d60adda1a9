import type { ChangeKind, Direction } from "./spec-change";

/**
 * What an edit does to the set of values a schema (or a parameter, a security requirement)
 * allows: `narrowed` allows fewer, `widened` more, `changed` neither a subset nor a superset.
 */
export type Effect = "narrowed" | "widened" | "changed";

/**
 * A request is sent by clients: accepting less breaks them, accepting more does not. A response is
 * read by clients: sending something they did not expect breaks them, sending less does not.
 */
export function kindOfEffect(effect: Effect, direction: Direction): ChangeKind {
  if (effect === "changed") return "breaking";
  const breaksClients = direction === "request" ? "narrowed" : "widened";
  return effect === breaksClients ? "breaking" : "non-breaking";
}
