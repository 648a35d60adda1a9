import type { Db } from "./database";

/** The `jti`s of spent client assertions, per agent, until the assertion would have expired. */
export class AssertionJtisStore {
  private readonly insertStatement;
  private readonly expireStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<{ agent_id: string; jti: string; expires_at: string }>(
      `INSERT INTO assertion_jtis (agent_id, jti, expires_at) VALUES (@agent_id, @jti, @expires_at)
       ON CONFLICT DO NOTHING`,
    );
    this.expireStatement = db.prepare<[string]>("DELETE FROM assertion_jtis WHERE expires_at < ?");
  }

  /** Records a `jti`; false when this agent already spent it (a replay). */
  spend(agentId: string, jti: string, expiresAt: string): boolean {
    return (
      this.insertStatement.run({ agent_id: agentId, jti, expires_at: expiresAt }).changes === 1
    );
  }

  /** Forgets `jti`s whose assertions expired before `at`: they can no longer be replayed anyway. */
  expireBefore(at: string): number {
    return this.expireStatement.run(at).changes;
  }
}
