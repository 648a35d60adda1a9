import type { Db } from "./database";

export interface TokenRow {
  id: string;
  tenant_id: string;
  name: string;
  /** JSON array of verbs. */
  verbs: string;
  secret_hash: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export class TokensStore {
  private readonly insertStatement;
  private readonly byHashStatement;
  private readonly byIdStatement;
  private readonly pageStatement;
  private readonly revokeStatement;
  private readonly touchStatement;
  private readonly generationStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<TokenRow>(
      `INSERT INTO tokens (id, tenant_id, name, verbs, secret_hash, prefix, created_at, expires_at, last_used_at, revoked_at)
       VALUES (@id, @tenant_id, @name, @verbs, @secret_hash, @prefix, @created_at, @expires_at, @last_used_at, @revoked_at)`,
    );
    this.byHashStatement = db.prepare<[string], TokenRow>(
      "SELECT * FROM tokens WHERE secret_hash = ?",
    );
    this.byIdStatement = db.prepare<[string, string], TokenRow>(
      "SELECT * FROM tokens WHERE id = ? AND tenant_id = ?",
    );
    this.pageStatement = db.prepare<[string, string, number], TokenRow>(
      "SELECT * FROM tokens WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?",
    );
    this.revokeStatement = db.prepare<[string, string, string]>(
      "UPDATE tokens SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
    );
    this.touchStatement = db.prepare<[string, string]>(
      "UPDATE tokens SET last_used_at = ? WHERE id = ?",
    );
    this.generationStatement = db
      .prepare<[], number>("SELECT generation FROM token_changes")
      .pluck();
  }

  insert(row: TokenRow): void {
    this.insertStatement.run(row);
  }

  bySecretHash(hash: string): TokenRow | undefined {
    return this.byHashStatement.get(hash);
  }

  byId(id: string, tenantId: string): TokenRow | undefined {
    return this.byIdStatement.get(id, tenantId);
  }

  page(tenantId: string, after: string, limit: number): TokenRow[] {
    return this.pageStatement.all(tenantId, after, limit);
  }

  revoke(id: string, tenantId: string, at: string): boolean {
    return this.revokeStatement.run(at, id, tenantId).changes > 0;
  }

  touch(id: string, at: string): void {
    this.touchStatement.run(at, id);
  }

  /**
   * A number that changes whenever a token is revoked, deleted (or its tenant), or has its verbs
   * or expiry changed, by any connection: triggers keep it (migration 8).
   */
  generation(): number {
    return this.generationStatement.get() ?? 0;
  }
}
