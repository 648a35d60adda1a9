import type { Db } from "./database";

export interface AgentRow {
  id: string;
  tenant_id: string;
  name: string;
  hostname: string | null;
  version: string | null;
  auth_method: "jwt" | "mtls" | null;
  /** PEM SubjectPublicKeyInfo of the enrolled key. */
  public_key: string;
  public_key_fingerprint: string;
  /** PEM SubjectPublicKeyInfo of the Ed25519 key derived from an issued seed (never the seed). */
  identity_public_key: string | null;
  identity_fingerprint: string | null;
  identity_issued_at: string | null;
  enrollment_id: string | null;
  enrolled_at: string;
  last_seen_at: string | null;
  revoked_at: string | null;
}

export interface IdentityUpdate {
  id: string;
  tenant_id: string;
  identity_public_key: string;
  identity_fingerprint: string;
  identity_issued_at: string;
}

export interface SeenUpdate {
  id: string;
  at: string;
  auth_method: "jwt" | "mtls";
  version: string | null;
}

export class AgentsStore {
  private readonly insertStatement;
  private readonly byIdStatement;
  private readonly byAnyTenantIdStatement;
  private readonly byFingerprintStatement;
  private readonly firstPageStatement;
  private readonly pageStatement;
  private readonly revokeStatement;
  private readonly setIdentityStatement;
  private readonly seenStatement;

  private readonly presenceStatement;
  constructor(db: Db) {
    this.presenceStatement = db.prepare<
      { since: string },
      { seen: number; unseen: number; revoked: number }
    >(
      `SELECT coalesce(sum(revoked_at IS NULL AND last_seen_at >= @since), 0) AS seen,
              coalesce(sum(revoked_at IS NULL AND (last_seen_at IS NULL OR last_seen_at < @since)), 0) AS unseen,
              coalesce(sum(revoked_at IS NOT NULL), 0) AS revoked
       FROM agents`,
    );
    this.insertStatement = db.prepare<AgentRow>(
      `INSERT INTO agents (id, tenant_id, name, hostname, version, auth_method, public_key, public_key_fingerprint,
         identity_public_key, identity_fingerprint, identity_issued_at, enrollment_id, enrolled_at, last_seen_at, revoked_at)
       VALUES (@id, @tenant_id, @name, @hostname, @version, @auth_method, @public_key, @public_key_fingerprint,
         @identity_public_key, @identity_fingerprint, @identity_issued_at, @enrollment_id, @enrolled_at, @last_seen_at, @revoked_at)`,
    );
    this.byIdStatement = db.prepare<[string, string], AgentRow>(
      "SELECT * FROM agents WHERE id = ? AND tenant_id = ?",
    );
    this.byAnyTenantIdStatement = db.prepare<[string], AgentRow>(
      "SELECT * FROM agents WHERE id = ?",
    );
    // Both columns are UNIQUE (indexed), so this is two index probes.
    this.byFingerprintStatement = db.prepare<{ fingerprint: string }, AgentRow>(
      `SELECT * FROM agents WHERE public_key_fingerprint = @fingerprint
       UNION ALL SELECT * FROM agents WHERE identity_fingerprint = @fingerprint
       LIMIT 1`,
    );
    // Ordered by name, then id (names need not be unique); row values seek the index.
    this.firstPageStatement = db.prepare<[string, number], AgentRow>(
      "SELECT * FROM agents WHERE tenant_id = ? ORDER BY name, id LIMIT ?",
    );
    this.pageStatement = db.prepare<[string, string, string, number], AgentRow>(
      "SELECT * FROM agents WHERE tenant_id = ? AND (name, id) > (?, ?) ORDER BY name, id LIMIT ?",
    );
    this.revokeStatement = db.prepare<[string, string, string]>(
      "UPDATE agents SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
    );
    this.setIdentityStatement = db.prepare<IdentityUpdate>(
      `UPDATE agents SET identity_public_key = @identity_public_key, identity_fingerprint = @identity_fingerprint,
         identity_issued_at = @identity_issued_at
       WHERE id = @id AND tenant_id = @tenant_id`,
    );
    this.seenStatement = db.prepare<SeenUpdate>(
      `UPDATE agents SET last_seen_at = @at, auth_method = @auth_method, version = coalesce(@version, version)
       WHERE id = @id`,
    );
  }

  insert(row: AgentRow): void {
    this.insertStatement.run(row);
  }

  /** The tenant's agent; another tenant's is `undefined` (the API says 404). */
  byId(id: string, tenantId: string): AgentRow | undefined {
    return this.byIdStatement.get(id, tenantId);
  }

  /** For the agent API, whose principal is the agent itself rather than a tenant's operator. */
  byIdInAnyTenant(id: string): AgentRow | undefined {
    return this.byAnyTenantIdStatement.get(id);
  }

  /** The agent whose enrolled key or issued identity has this `sha256:<hex>` fingerprint. */
  byKeyFingerprint(fingerprint: string): AgentRow | undefined {
    return this.byFingerprintStatement.get({ fingerprint });
  }

  /** Keyset page by (name, id): `after` is the previous page's last pair. */
  page(tenantId: string, after: [string, string] | undefined, limit: number): AgentRow[] {
    return after === undefined
      ? this.firstPageStatement.all(tenantId, limit)
      : this.pageStatement.all(tenantId, after[0], after[1], limit);
  }

  revoke(id: string, tenantId: string, at: string): boolean {
    return this.revokeStatement.run(at, id, tenantId).changes > 0;
  }

  setIdentity(update: IdentityUpdate): void {
    this.setIdentityStatement.run(update);
  }

  seen(update: SeenUpdate): void {
    this.seenStatement.run(update);
  }

  /** Agents across tenants: seen since `since`, not seen since, and revoked (for the metrics). */
  presence(since: string): { seen: number; unseen: number; revoked: number } {
    return this.presenceStatement.get({ since }) ?? { seen: 0, unseen: 0, revoked: 0 };
  }
}
