import type { Db } from "./database";

export interface ZeebePendingDeleteRow {
  backup_id: string;
  tenant_id: string;
  deployment_id: string;
  event_id: string;
  failures: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
}

/** Tombstoned backups of `zeebe` deployments still to be deleted on their cluster. */
export class ZeebeDeletesStore {
  private readonly insertStatement;
  private readonly failedStatement;
  private readonly deleteStatement;
  private readonly allStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<ZeebePendingDeleteRow>(
      `INSERT INTO zeebe_pending_deletes (backup_id, tenant_id, deployment_id, event_id, failures,
         next_attempt_at, last_error, created_at)
       VALUES (@backup_id, @tenant_id, @deployment_id, @event_id, @failures, @next_attempt_at,
         @last_error, @created_at)
       ON CONFLICT DO NOTHING`,
    );
    this.failedStatement = db.prepare<{
      backup_id: string;
      failures: number;
      next_attempt_at: string;
      last_error: string;
    }>(
      `UPDATE zeebe_pending_deletes
       SET failures = @failures, next_attempt_at = @next_attempt_at, last_error = @last_error
       WHERE backup_id = @backup_id`,
    );
    this.deleteStatement = db.prepare<[string]>(
      "DELETE FROM zeebe_pending_deletes WHERE backup_id = ?",
    );
    this.allStatement = db.prepare<[], ZeebePendingDeleteRow>(
      "SELECT * FROM zeebe_pending_deletes ORDER BY next_attempt_at, backup_id",
    );
  }

  /** Records a delete to carry out; false when one for this backup is already pending. */
  add(row: ZeebePendingDeleteRow): boolean {
    return this.insertStatement.run(row).changes === 1;
  }

  /** An attempt failed: the next one is due at `nextAttemptAt`. */
  failed(backupId: string, failures: number, nextAttemptAt: string, error: string): void {
    this.failedStatement.run({
      backup_id: backupId,
      failures,
      next_attempt_at: nextAttemptAt,
      last_error: error,
    });
  }

  /** Done, or given up. */
  remove(backupId: string): void {
    this.deleteStatement.run(backupId);
  }

  all(): ZeebePendingDeleteRow[] {
    return this.allStatement.all();
  }
}
