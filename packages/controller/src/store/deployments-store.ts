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
    // The path parameter takes an id or a name; an id match wins over a name match.
    this.byIdOrNameStatement = db.prepare<{ tenant: string; key: string }, DeploymentRow>(
      "SELECT * FROM deployments WHERE tenant_id = @tenant AND (id = @key OR name = @key) ORDER BY id = @key DESC LIMIT 1",
    );
  }

  /** The tenant's deployment by id or name; another tenant's is `undefined` (the API says 404). */
  byIdOrName(tenantId: string, idOrName: string): DeploymentRow | undefined {
    return this.byIdOrNameStatement.get({ tenant: tenantId, key: idOrName });
  }
}
