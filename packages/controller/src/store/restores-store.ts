import type { Db } from "./database";
import type { JobStatus } from "./jobs-store";

export interface RestoreRow {
  id: string;
  tenant_id: string;
  deployment_id: string;
  requested_backup: string;
  backup_id: string;
  target: string | null;
  verify: "auto" | "skip" | "require";
  force: number;
  job_id: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export class RestoresStore {
  private readonly insertStatement;
  private readonly byIdStatement;
  private readonly byIdInAnyTenantStatement;
  private readonly setStatusStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<RestoreRow>(
      `INSERT INTO restores (id, tenant_id, deployment_id, requested_backup, backup_id, target,
         verify, force, job_id, status, created_at, started_at, ended_at)
       VALUES (@id, @tenant_id, @deployment_id, @requested_backup, @backup_id, @target, @verify,
         @force, @job_id, @status, @created_at, @started_at, @ended_at)`,
    );
    this.byIdStatement = db.prepare<[string, string], RestoreRow>(
      "SELECT * FROM restores WHERE id = ? AND deployment_id = ?",
    );
    this.byIdInAnyTenantStatement = db.prepare<[string], RestoreRow>(
      "SELECT * FROM restores WHERE id = ?",
    );
    // A restore mirrors its job's status, so it still answers after the job is forgotten.
    this.setStatusStatement = db.prepare<{
      id: string;
      status: JobStatus;
      started_at: string | null;
      ended_at: string | null;
    }>(
      `UPDATE restores SET status = @status, started_at = coalesce(started_at, @started_at),
         ended_at = @ended_at
       WHERE id = @id`,
    );
  }

  insert(row: RestoreRow): void {
    this.insertStatement.run(row);
  }

  /** The deployment's restore; one of another deployment (or tenant) is `undefined`. */
  byId(id: string, deploymentId: string): RestoreRow | undefined {
    return this.byIdStatement.get(id, deploymentId);
  }

  byIdInAnyTenant(id: string): RestoreRow | undefined {
    return this.byIdInAnyTenantStatement.get(id);
  }

  setStatus(
    id: string,
    status: JobStatus,
    times: { startedAt?: string | null; endedAt?: string | null },
  ): void {
    this.setStatusStatement.run({
      id,
      status,
      started_at: times.startedAt ?? null,
      ended_at: times.endedAt ?? null,
    });
  }
}
