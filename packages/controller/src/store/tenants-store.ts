import type { Db } from "./database";

export interface TenantRow {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export class TenantsStore {
  private readonly insertStatement;
  private readonly byIdStatement;
  private readonly byNameStatement;
  private readonly pageStatement;
  private readonly deleteStatement;
  private readonly countStatement;

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
}
