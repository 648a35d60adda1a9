import type { Db } from "./database";
import type { DeploymentRow } from "./deployments-store";
import type { TargetRow } from "./targets-store";

/** What an agent's config document is rendered from, read together. */
export interface AgentConfigRows {
  /** The agent's deployments (those whose pull driver names it), by name. */
  deployments: DeploymentRow[];
  /** Every target those deployments name, by id. */
  targets: Map<string, TargetRow>;
}

export class AgentConfigStore {
  private readonly deploymentsStatement;
  private readonly targetsStatement;

  constructor(private readonly db: Db) {
    // On the deployments_by_agent index; the tenant check keeps a stray agent id in another
    // tenant's row out of this agent's document.
    this.deploymentsStatement = db.prepare<[string, string], DeploymentRow>(
      "SELECT * FROM deployments WHERE agent_id = ? AND tenant_id = ? ORDER BY name",
    );
    // One round trip for every deployment's `target_ids`, passed as one JSON array.
    this.targetsStatement = db.prepare<[string, string], TargetRow>(
      "SELECT * FROM targets WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))",
    );
  }

  /** Read in one transaction, so a target list and the targets it names come from one state. */
  read(tenantId: string, agentId: string): AgentConfigRows {
    return this.db.transaction(() => {
      const deployments = this.deploymentsStatement.all(agentId, tenantId);
      const ids = new Set<string>();
      for (const row of deployments)
        for (const id of JSON.parse(row.target_ids) as string[]) ids.add(id);
      const targets = this.targetsStatement.all(tenantId, JSON.stringify([...ids]));
      return { deployments, targets: new Map(targets.map((row) => [row.id, row])) };
    })();
  }
}
