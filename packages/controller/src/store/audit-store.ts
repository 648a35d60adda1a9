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

export class AuditStore {
  private readonly insertStatement;
  private readonly headStatement;
  private readonly pageStatement;
  private readonly walkStatement;

  constructor(db: Db) {
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
}
