import type { Db } from "./database";

export interface EnrollmentRow {
  id: string;
  tenant_id: string;
  description: string | null;
  agent_name: string | null;
  /** SHA-256 (hex) of the one-time secret. */
  secret_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  agent_id: string | null;
}

export class EnrollmentsStore {
  private readonly insertStatement;
  private readonly byIdStatement;
  private readonly byHashStatement;
  private readonly firstPageStatement;
  private readonly pageStatement;
  private readonly consumeStatement;
  private readonly deleteStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<EnrollmentRow>(
      `INSERT INTO enrollments (id, tenant_id, description, agent_name, secret_hash, created_at, expires_at, used_at, agent_id)
       VALUES (@id, @tenant_id, @description, @agent_name, @secret_hash, @created_at, @expires_at, @used_at, @agent_id)`,
    );
    this.byIdStatement = db.prepare<[string, string], EnrollmentRow>(
      "SELECT * FROM enrollments WHERE id = ? AND tenant_id = ?",
    );
    this.byHashStatement = db.prepare<[string], EnrollmentRow>(
      "SELECT * FROM enrollments WHERE secret_hash = ?",
    );
    // Newest first (ids sort by creation time). Two statements rather than `? IS NULL OR id < ?`,
    // which would keep SQLite from seeking the index and make late pages scan.
    this.firstPageStatement = db.prepare<[string, number], EnrollmentRow>(
      "SELECT * FROM enrollments WHERE tenant_id = ? ORDER BY id DESC LIMIT ?",
    );
    this.pageStatement = db.prepare<[string, string, number], EnrollmentRow>(
      "SELECT * FROM enrollments WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
    );
    // Conditional, so a token is spent at most once even if two enrollments race.
    this.consumeStatement = db.prepare<{ id: string; at: string; agent_id: string }>(
      `UPDATE enrollments SET used_at = @at, agent_id = @agent_id
       WHERE id = @id AND used_at IS NULL AND expires_at > @at`,
    );
    this.deleteStatement = db.prepare<[string, string]>(
      "DELETE FROM enrollments WHERE id = ? AND tenant_id = ?",
    );
  }

  insert(row: EnrollmentRow): void {
    this.insertStatement.run(row);
  }

  /** The tenant's enrollment; another tenant's is `undefined` (the API says 404). */
  byId(id: string, tenantId: string): EnrollmentRow | undefined {
    return this.byIdStatement.get(id, tenantId);
  }

  bySecretHash(hash: string): EnrollmentRow | undefined {
    return this.byHashStatement.get(hash);
  }

  /** Keyset page, newest first: `before` is the last id of the previous page. */
  page(tenantId: string, before: string | undefined, limit: number): EnrollmentRow[] {
    return before === undefined
      ? this.firstPageStatement.all(tenantId, limit)
      : this.pageStatement.all(tenantId, before, limit);
  }

  /** Marks a pending, unexpired enrollment used by `agentId`; false when it was not pending. */
  consume(id: string, agentId: string, at: string): boolean {
    return this.consumeStatement.run({ id, at, agent_id: agentId }).changes > 0;
  }

  delete(id: string, tenantId: string): boolean {
    return this.deleteStatement.run(id, tenantId).changes > 0;
  }
}
