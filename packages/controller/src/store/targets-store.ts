import type { Db } from "./database";

/** A row of `targets`; `settings` and `secrets` are JSON text, parsed by the services. */
export interface TargetRow {
  id: string;
  tenant_id: string;
  name: string;
  type: string;
  description: string | null;
  settings: string;
  secrets: string;
  created_at: string;
  updated_at: string;
}

export class TargetsStore {
  private readonly insertStatement;
  private readonly updateStatement;
  private readonly deleteStatement;
  private readonly byIdStatement;
  private readonly byNameStatement;
  private readonly pageStatement;
  private readonly existingIdsStatement;
  private readonly usedByStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<TargetRow>(
      `INSERT INTO targets (id, tenant_id, name, type, description, settings, secrets, created_at, updated_at)
       VALUES (@id, @tenant_id, @name, @type, @description, @settings, @secrets, @created_at, @updated_at)`,
    );
    this.updateStatement = db.prepare<TargetRow>(
      `UPDATE targets SET name = @name, description = @description, settings = @settings,
         secrets = @secrets, updated_at = @updated_at
       WHERE id = @id AND tenant_id = @tenant_id`,
    );
    this.deleteStatement = db.prepare<[string, string]>(
      "DELETE FROM targets WHERE id = ? AND tenant_id = ?",
    );
    this.byIdStatement = db.prepare<[string, string], TargetRow>(
      "SELECT * FROM targets WHERE id = ? AND tenant_id = ?",
    );
    this.byNameStatement = db.prepare<[string, string], TargetRow>(
      "SELECT * FROM targets WHERE tenant_id = ? AND name = ?",
    );
    // Keyset on the (tenant_id, name) unique index: the spec orders targets by name.
    this.pageStatement = db.prepare<[string, string, number], TargetRow>(
      "SELECT * FROM targets WHERE tenant_id = ? AND name > ? ORDER BY name LIMIT ?",
    );
    // One round trip for a whole `target_ids` list, passed as a JSON array.
    this.existingIdsStatement = db.prepare<[string, string], { id: string; type: string }>(
      "SELECT id, type FROM targets WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))",
    );
    this.usedByStatement = db.prepare<[string, string], { name: string }>(
      `SELECT d.name FROM deployments d, json_each(d.target_ids) t
       WHERE d.tenant_id = ? AND t.value = ? ORDER BY d.name LIMIT 10`,
    );
  }

  insert(row: TargetRow): void {
    this.insertStatement.run(row);
  }

  update(row: TargetRow): void {
    this.updateStatement.run(row);
  }

  delete(id: string, tenantId: string): boolean {
    return this.deleteStatement.run(id, tenantId).changes > 0;
  }

  byId(id: string, tenantId: string): TargetRow | undefined {
    return this.byIdStatement.get(id, tenantId);
  }

  byName(tenantId: string, name: string): TargetRow | undefined {
    return this.byNameStatement.get(tenantId, name);
  }

  page(tenantId: string, afterName: string, limit: number): TargetRow[] {
    return this.pageStatement.all(tenantId, afterName, limit);
  }

  /** Which of `ids` are targets of the tenant, with their types. */
  existing(tenantId: string, ids: readonly string[]): Map<string, string> {
    const rows = this.existingIdsStatement.all(tenantId, JSON.stringify(ids));
    return new Map(rows.map((row) => [row.id, row.type]));
  }

  /** Names of (up to 10) deployments of the tenant that store backups on the target. */
  usedBy(tenantId: string, targetId: string): string[] {
    return this.usedByStatement.all(tenantId, targetId).map((row) => row.name);
  }
}
