import { createHash } from "node:crypto";
import type { AuditRow, AuditStore } from "../store/audit-store";
import { canonicalJson } from "./canonical-json";
import { newId, nowIso } from "./identifiers";
import type { Actor } from "./principal";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditInput {
  tenantId: string;
  actor: Actor;
  /** The mutation as its command, e.g. `tokens.create`. */
  action: string;
  subject: Record<string, string>;
  /** What changed: field names and non-secret values only. */
  details?: Record<string, unknown>;
  requestId?: string | null;
}

export interface ChainBreak {
  entry_id: string;
  sequence: number;
  reason: "hash_mismatch" | "prev_hash_mismatch" | "sequence_gap";
  expected: string;
  actual: string;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  head: { entry_id: string; sequence: number; hash: string } | null;
  first_broken: ChainBreak | null;
}

/**
 * The append-only audit log: each entry's hash covers the previous entry's hash and its own
 * canonical content (SHA-256), so editing, removing or reordering rows breaks the chain.
 * `append` must run inside the caller's transaction, so the mutation and its entry commit together.
 */
export class AuditLog {
  constructor(private readonly store: AuditStore) {}

  append(input: AuditInput): AuditRow {
    const head = this.store.head();
    const content = {
      sequence: (head?.sequence ?? 0) + 1,
      id: newId("aud"),
      at: nowIso(),
      tenant_id: input.tenantId,
      actor: JSON.stringify(input.actor),
      action: input.action,
      subject: JSON.stringify(input.subject),
      details: JSON.stringify(input.details ?? {}),
      request_id: input.requestId ?? null,
      prev_hash: head?.hash ?? GENESIS_HASH,
    };
    const row: AuditRow = { ...content, hash: entryHash(content) };
    this.store.insert(row);
    return row;
  }

  verifyChain(): ChainVerification {
    let previous: AuditRow | undefined;
    let checked = 0;
    for (const row of this.store.walk()) {
      checked++;
      const broken = checkEntry(row, previous);
      if (broken) return { ok: false, checked, head: headOf(row), first_broken: broken };
      previous = row;
    }
    return { ok: true, checked, head: previous ? headOf(previous) : null, first_broken: null };
  }
}

function checkEntry(row: AuditRow, previous: AuditRow | undefined): ChainBreak | null {
  const where = { entry_id: row.id, sequence: row.sequence };
  const expectedSequence = (previous?.sequence ?? 0) + 1;
  if (row.sequence !== expectedSequence) {
    return {
      ...where,
      reason: "sequence_gap",
      expected: String(expectedSequence),
      actual: String(row.sequence),
    };
  }
  const expectedPrev = previous?.hash ?? GENESIS_HASH;
  if (row.prev_hash !== expectedPrev) {
    return {
      ...where,
      reason: "prev_hash_mismatch",
      expected: expectedPrev,
      actual: row.prev_hash,
    };
  }
  const { hash, ...content } = row;
  const expectedHash = entryHash(content);
  if (hash !== expectedHash)
    return { ...where, reason: "hash_mismatch", expected: expectedHash, actual: hash };
  return null;
}

function entryHash(content: Omit<AuditRow, "hash">): string {
  return createHash("sha256")
    .update(content.prev_hash)
    .update(canonicalJson(content))
    .digest("hex");
}

function headOf(row: AuditRow) {
  return { entry_id: row.id, sequence: row.sequence, hash: row.hash };
}

export function presentAuditEntry(row: AuditRow) {
  return {
    id: row.id,
    sequence: row.sequence,
    at: row.at,
    tenant_id: row.tenant_id,
    actor: JSON.parse(row.actor) as Actor,
    action: row.action,
    subject: JSON.parse(row.subject) as Record<string, string>,
    details: JSON.parse(row.details) as Record<string, unknown>,
    request_id: row.request_id,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}
