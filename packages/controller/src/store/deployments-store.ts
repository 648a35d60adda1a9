import type { Db } from "./database";

/** A row of `deployments`; JSON columns are text here and parsed by the services. */
export interface DeploymentRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  kind: string;
  connection: string;
  secrets: string;
  driver: string;
  agent_id: string | null;
  schedules: string;
  target_ids: string;
  retention: string;
  compression: string;
  encryption: string | null;
  scripts: string;
  paused: number;
  last_sequence: number;
  created_at: string;
  updated_at: string;
}

export class DeploymentsStore {
  private readonly byIdOrNameStatement;

  constructor(db: Db) {
    // Ids and names cannot collide (ids carry a `dep_` prefix and names are validated), so one
    // lookup serves both; the id is tried first by the ORDER BY.
    this.byIdOrNameStatement = db.prepare<[string, string, string], DeploymentRow>(
      "SELECT * FROM deployments WHERE tenant_id = ? AND (id = ? OR name = ?) ORDER BY (id = name) LIMIT 1",
    );
  }

  /** The tenant's deployment by id or name; another tenant's is `undefined` (the API says 404). */
  byIdOrName(tenantId: string, idOrName: string): DeploymentRow | undefined {
    return this.byIdOrNameStatement.get(tenantId, idOrName, idOrName);
  }
}
