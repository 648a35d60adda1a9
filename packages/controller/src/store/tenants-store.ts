import type { Db } from "./database";

export interface TenantRow {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

/** What keeps a tenant from being deleted (the spec's deleteTenant). */
export interface TenantContents {
  deployments: number;
  targets: number;
  /** Agents not revoked: a revoked agent's record cannot be removed, so it does not count. */
  agents: number;
  /**
   * Live catalog entries, kept by deployments deleted earlier: they do not keep the tenant, but
   * go with it, so the delete's audit entry says how many.
   */
  backups: number;
}

export class TenantsStore {
  private readonly insertStatement;
  private readonly byIdStatement;
  private readonly byNameStatement;
  private readonly pageStatement;
  private readonly deleteStatement;
  private readonly countStatement;
  private readonly rootStatement;
  private readonly contentsStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<TenantRow>(
      "INSERT INTO tenants (id, name, description, created_at, updated_at) VALUES (@id, @name, @description, @created_at, @updated_at)",
    );
    this.byIdStatement = db.prepare<[string], TenantRow>("SELECT * FROM tenants WHERE id = ?");
    this.byNameStatement = db.prepare<[string], TenantRow>("SELECT * FROM tenants WHERE name = ?");
    this.pageStatement = db.prepare<[string, number], TenantRow>(
      "SELECT * FROM tenants WHERE name > ? ORDER BY name LIMIT ?",
    );
    this.deleteStatement = db.prepare<[string]>("DELETE FROM tenants WHERE id = ?");
    this.countStatement = db.prepare<[], { count: number }>(
      "SELECT count(*) AS count FROM tenants",
    );
    // The first tenant (created on first start): it cannot be deleted, so it stays the oldest.
    this.rootStatement = db.prepare<[], TenantRow>(
      "SELECT * FROM tenants ORDER BY created_at, id LIMIT 1",
    );
    // Each count seeks an index that starts with tenant_id.
    this.contentsStatement = db.prepare<{ tenant: string }, TenantContents>(
      `SELECT
         (SELECT count(*) FROM deployments WHERE tenant_id = @tenant) AS deployments,
         (SELECT count(*) FROM targets WHERE tenant_id = @tenant) AS targets,
         (SELECT count(*) FROM agents WHERE tenant_id = @tenant AND revoked_at IS NULL) AS agents,
         (SELECT count(*) FROM backups WHERE tenant_id = @tenant AND deleted_at IS NULL) AS backups`,
    );
  }

  insert(row: TenantRow): void {
    this.insertStatement.run(row);
  }

  byId(id: string): TenantRow | undefined {
    return this.byIdStatement.get(id);
  }

  byName(name: string): TenantRow | undefined {
    return this.byNameStatement.get(name);
  }

  /** Keyset page by name: `after` is the last name of the previous page. */
  page(after: string, limit: number): TenantRow[] {
    return this.pageStatement.all(after, limit);
  }

  delete(id: string): boolean {
    return this.deleteStatement.run(id).changes > 0;
  }

  count(): number {
    return this.countStatement.get()?.count ?? 0;
  }

  /** The server's first (root) tenant, whose `admin:*` tokens see every tenant. */
  root(): TenantRow | undefined {
    return this.rootStatement.get();
  }

  contents(id: string): TenantContents {
    return (
      this.contentsStatement.get({ tenant: id }) ?? {
        deployments: 0,
        targets: 0,
        agents: 0,
        backups: 0,
      }
    );
  }
}
