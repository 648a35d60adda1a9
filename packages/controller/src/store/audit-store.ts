import type { Db } from "./database";

export interface AuditRow {
  sequence: number;
  id: string;
  at: string;
  tenant_id: string;
  /** JSON: { type, id, name }. */
  actor: string;
  action: string;
  /** JSON object of ids. */
  subject: string;
  /** JSON object. */
  details: string;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

/** Where the chain starts once retention has removed its oldest entries (migration 7). */
export interface AuditCheckpointRow {
  /** The last removed entry: the first kept entry's prev_hash is its hash. */
  sequence: number;
  hash: string;
  /** The `audit.prune` entry that recorded this prune (its details repeat sequence and hash). */
  record_id: string;
  record_sequence: number;
  /** Entries removed by retention so far. */
  pruned_total: number;
  updated_at: string;
}

export class AuditStore {
  private readonly insertStatement;
  private readonly headStatement;
  private readonly pageStatement;
  private readonly walkStatement;
  private readonly deleteThroughStatement;
  private readonly checkpointStatement;
  private readonly setCheckpointStatement;

  constructor(private readonly db: Db) {
    this.insertStatement = db.prepare<AuditRow>(
      `INSERT INTO audit_entries (sequence, id, at, tenant_id, actor, action, subject, details, request_id, prev_hash, hash)
       VALUES (@sequence, @id, @at, @tenant_id, @actor, @action, @subject, @details, @request_id, @prev_hash, @hash)`,
    );
    this.headStatement = db.prepare<[], Pick<AuditRow, "sequence" | "hash">>(
      "SELECT sequence, hash FROM audit_entries ORDER BY sequence DESC LIMIT 1",
    );
    this.pageStatement = db.prepare<[string, number, number], AuditRow>(
      "SELECT * FROM audit_entries WHERE tenant_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
    );
    this.walkStatement = db.prepare<[], AuditRow>("SELECT * FROM audit_entries ORDER BY sequence");
    this.deleteThroughStatement = db.prepare<[number]>(
      "DELETE FROM audit_entries WHERE sequence <= ?",
    );
    this.checkpointStatement = db.prepare<[], AuditCheckpointRow>(
      `SELECT sequence, hash, record_id, record_sequence, pruned_total, updated_at
       FROM audit_checkpoint WHERE id = 1`,
    );
    this.setCheckpointStatement = db.prepare<AuditCheckpointRow>(
      `INSERT INTO audit_checkpoint (id, sequence, hash, record_id, record_sequence, pruned_total, updated_at)
       VALUES (1, @sequence, @hash, @record_id, @record_sequence, @pruned_total, @updated_at)
       ON CONFLICT (id) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash,
         record_id = excluded.record_id, record_sequence = excluded.record_sequence,
         pruned_total = excluded.pruned_total, updated_at = excluded.updated_at`,
    );
  }

  insert(row: AuditRow): void {
    this.insertStatement.run(row);
  }

  head(): Pick<AuditRow, "sequence" | "hash"> | undefined {
    return this.headStatement.get();
  }

  page(tenantId: string, afterSequence: number, limit: number): AuditRow[] {
    return this.pageStatement.all(tenantId, afterSequence, limit);
  }

  /** Every entry, oldest first, one row at a time: the chain is verified without loading it whole. */
  walk(): IterableIterator<AuditRow> {
    return this.walkStatement.iterate();
  }

  /** Removes every entry up to `sequence`: always a prefix, so the kept chain has no hole. */
  deleteThrough(sequence: number): number {
    return this.deleteThroughStatement.run(sequence).changes;
  }

  /**
   * Runs reads in one (deferred) transaction: in WAL mode they all see one snapshot, so a prune
   * committed by another connection cannot fall between reading the checkpoint and the walk.
   */
  snapshot<T>(read: () => T): T {
    return this.db.transaction(read).deferred();
  }

  checkpoint(): AuditCheckpointRow | undefined {
    return this.checkpointStatement.get();
  }

  setCheckpoint(row: AuditCheckpointRow): void {
    this.setCheckpointStatement.run(row);
  }
}
