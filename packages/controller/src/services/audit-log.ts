import { createHash } from "node:crypto";
import type { AuditCheckpointRow, AuditRow, AuditStore } from "../store/audit-store";
import { canonicalJson } from "./canonical-json";
import { newId, nowIso } from "./identifiers";
import { SYSTEM_ACTOR, type Actor } from "./principal";

export const GENESIS_HASH = "0".repeat(64);

/** The action of the entry each retention prune appends: the chain records its own pruning. */
export const AUDIT_PRUNE_ACTION = "audit.prune";

/** What the chain is verified from: the genesis, or the last entry retention removed. */
type Anchor = Pick<AuditRow, "sequence" | "hash">;
const GENESIS: Anchor = { sequence: 0, hash: GENESIS_HASH };

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

  /**
   * Walks the chain from its anchor: the genesis, or, once retention has removed old entries,
   * the checkpoint (the last removed entry's sequence and hash). The checkpoint must agree with
   * the `audit.prune` entry that recorded it, so removing more entries and moving the
   * checkpoint by hand is still a break.
   */
  verifyChain(): ChainVerification {
    return this.store.snapshot(() => this.verifyFrom(this.store.checkpoint()));
  }

  private verifyFrom(checkpoint: AuditCheckpointRow | undefined): ChainVerification {
    let previous: Anchor = checkpoint ?? GENESIS;
    let last: AuditRow | undefined;
    let recordSeen = checkpoint === undefined;
    let checked = 0;
    for (const row of this.store.walk()) {
      checked++;
      let broken = checkEntry(row, previous);
      if (!broken && checkpoint && row.sequence === checkpoint.record_sequence) {
        recordSeen = true;
        broken = checkPruneRecord(row, checkpoint);
      }
      if (broken) return { ok: false, checked, head: headOf(row), first_broken: broken };
      previous = row;
      last = row;
    }
    if (checkpoint && !recordSeen) {
      // The entry that recorded the last prune is gone: entries after the checkpoint were removed.
      return {
        ok: false,
        checked,
        head: last ? headOf(last) : null,
        first_broken: {
          entry_id: checkpoint.record_id,
          sequence: checkpoint.record_sequence,
          reason: "sequence_gap",
          expected: String(checkpoint.record_sequence),
          actual: String(last?.sequence ?? checkpoint.sequence),
        },
      };
    }
    return { ok: true, checked, head: last ? headOf(last) : null, first_broken: null };
  }

  /**
   * Retention: removes the oldest entries written before `before` (at most `limit` of them
   * besides earlier prune records), in the caller's transaction, and answers how many went.
   * Only a prefix goes (the first entry not older than `before` stops it), and never the newest
   * entry, which the next `append` chains from. The last removed entry's sequence and hash
   * become the checkpoint `verifyChain` starts from, and an `audit.prune` entry (of
   * `recordTenantId`, the system's) records the prune in the chain itself. A prefix of nothing
   * but earlier prune records is left alone: removing it would only append another.
   */
  prune(before: string, limit: number, recordTenantId: string | undefined): number {
    const head = this.store.head();
    if (!head || limit < 1) return 0;
    let through: AuditRow | undefined;
    let others = 0;
    // Lazily, oldest first: the walk stops after the prefix, however long the log is.
    for (const row of this.store.walk()) {
      if (row.sequence >= head.sequence || row.at >= before || others >= limit) break;
      through = row;
      if (row.action !== AUDIT_PRUNE_ACTION) others++;
    }
    if (!through || others === 0) return 0;
    const removed = this.store.deleteThrough(through.sequence);
    const previous = this.store.checkpoint();
    const prunedTotal = (previous?.pruned_total ?? 0) + removed;
    const record = this.append({
      tenantId: recordTenantId ?? through.tenant_id,
      actor: SYSTEM_ACTOR,
      action: AUDIT_PRUNE_ACTION,
      subject: {},
      details: {
        through_sequence: through.sequence,
        through_hash: through.hash,
        removed,
        pruned_total: prunedTotal,
        older_than: before,
      },
    });
    this.store.setCheckpoint({
      sequence: through.sequence,
      hash: through.hash,
      record_id: record.id,
      record_sequence: record.sequence,
      pruned_total: prunedTotal,
      updated_at: record.at,
    });
    return removed;
  }
}

function checkEntry(row: AuditRow, previous: Anchor): ChainBreak | null {
  const where = { entry_id: row.id, sequence: row.sequence };
  const expectedSequence = previous.sequence + 1;
  if (row.sequence !== expectedSequence) {
    return {
      ...where,
      reason: "sequence_gap",
      expected: String(expectedSequence),
      actual: String(row.sequence),
    };
  }
  const expectedPrev = previous.hash;
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

/** The checkpoint must be the one its `audit.prune` entry (hash-protected) says it set. */
function checkPruneRecord(row: AuditRow, checkpoint: AuditCheckpointRow): ChainBreak | null {
  const details = JSON.parse(row.details) as { through_sequence?: unknown; through_hash?: unknown };
  if (
    row.action === AUDIT_PRUNE_ACTION &&
    details.through_sequence === checkpoint.sequence &&
    details.through_hash === checkpoint.hash
  ) {
    return null;
  }
  return {
    entry_id: row.id,
    sequence: row.sequence,
    reason: "prev_hash_mismatch",
    expected: typeof details.through_hash === "string" ? details.through_hash : "",
    actual: checkpoint.hash,
  };
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
