import type { Db } from "./database";

/** The sealed seed of each agent's issued identity (see IdentitySeedVault); never the seed itself. */
export class IdentitySeedsStore {
  private readonly putStatement;
  private readonly getStatement;
  private readonly deleteStatement;

  constructor(db: Db) {
    this.putStatement = db.prepare<{ agent_id: string; sealed: Buffer }>(
      `INSERT INTO agent_identity_seeds (agent_id, sealed) VALUES (@agent_id, @sealed)
       ON CONFLICT (agent_id) DO UPDATE SET sealed = excluded.sealed`,
    );
    this.getStatement = db
      .prepare<[string], Buffer>("SELECT sealed FROM agent_identity_seeds WHERE agent_id = ?")
      .pluck();
    this.deleteStatement = db.prepare<[string]>(
      "DELETE FROM agent_identity_seeds WHERE agent_id = ?",
    );
  }

  put(agentId: string, sealed: Buffer): void {
    this.putStatement.run({ agent_id: agentId, sealed });
  }

  get(agentId: string): Buffer | undefined {
    return this.getStatement.get(agentId);
  }

  delete(agentId: string): void {
    this.deleteStatement.run(agentId);
  }
}
