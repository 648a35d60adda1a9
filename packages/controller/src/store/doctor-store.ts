import type { Db } from "./database";
import type { DeploymentRow } from "./deployments-store";

export interface FailureStreak {
  /** FAILED jobs that ended after the deployment's last SUCCEEDED one. */
  count: number;
  /** The newest of them, for the message and the suggestion. */
  last: { id: string; error_message: string | null; ended_at: string | null } | undefined;
}

/** The doctor's reads: a tenant's deployments and the job history the checks look at. */
export class DoctorStore {
  private readonly deploymentsStatement;
  private readonly streakStatement;
  private readonly lastFailedStatement;
  private readonly activeBackupStatement;

  constructor(db: Db) {
    // The (tenant_id, name) unique index: the report lists deployments by name, as the API does.
    this.deploymentsStatement = db.prepare<[string], DeploymentRow>(
      "SELECT * FROM deployments WHERE tenant_id = ? ORDER BY name",
    );
    // Cancelled jobs neither count nor end a streak: an operator stopped them, nothing failed.
    this.streakStatement = db.prepare<{ deployment: string }, { count: number }>(
      `SELECT count(*) AS count FROM jobs
       WHERE deployment_id = @deployment AND status = 'FAILED'
         AND ended_at > coalesce((SELECT max(ended_at) FROM jobs
           WHERE deployment_id = @deployment AND status = 'SUCCEEDED'), '')`,
    );
    this.lastFailedStatement = db.prepare<
      [string],
      { id: string; error_message: string | null; ended_at: string | null }
    >(
      `SELECT id, error_message, ended_at FROM jobs WHERE deployment_id = ? AND status = 'FAILED'
       ORDER BY ended_at DESC, id DESC LIMIT 1`,
    );
    // The jobs_active partial index.
    this.activeBackupStatement = db.prepare<[string], { id: string; status: string }>(
      `SELECT id, status FROM jobs
       WHERE deployment_id = ? AND kind = 'backup' AND status IN ('QUEUED', 'RUNNING')
       ORDER BY id DESC LIMIT 1`,
    );
  }

  deploymentsOf(tenantId: string): DeploymentRow[] {
    return this.deploymentsStatement.all(tenantId);
  }

  failureStreak(deploymentId: string): FailureStreak {
    const count = this.streakStatement.get({ deployment: deploymentId })?.count ?? 0;
    return { count, last: count > 0 ? this.lastFailedStatement.get(deploymentId) : undefined };
  }

  /** The newest queued or running backup job of the deployment. */
  activeBackupJob(deploymentId: string): { id: string; status: string } | undefined {
    return this.activeBackupStatement.get(deploymentId);
  }
}
