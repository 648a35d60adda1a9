import type { Db } from "./database";

/** A finished job, as the log and job retention walks see it. */
export interface FinishedJobRef {
  id: string;
  ended_at: string;
}

/** A position in the walk of finished jobs by (ended_at, id). */
export interface JobEndCursor {
  endedAt: string;
  id: string;
}

/**
 * The deletes of history retention (events, job log lines, finished jobs). Every statement
 * touches at most `limit` rows through an index, so each runs in a short transaction of its own.
 */
export class RetentionStore {
  private readonly deleteEventsBeforeStatement;
  private readonly finishedJobsStatement;
  private readonly deleteJobLogsStatement;
  private readonly deleteJobEventsStatement;
  private readonly deleteFinishedJobStatement;
  private readonly cursorStatement;
  private readonly setCursorStatement;

  constructor(db: Db) {
    this.deleteEventsBeforeStatement = db.prepare<[string, number]>(
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE at < ? ORDER BY at LIMIT ?)`,
    );
    // Seeks jobs_finished_by_end: `ended_at IS NOT NULL` lets the planner use the partial index.
    this.finishedJobsStatement = db.prepare<
      { at: string; id: string; before: string; limit: number },
      FinishedJobRef
    >(
      `SELECT id, ended_at FROM jobs
       WHERE ended_at IS NOT NULL AND (ended_at, id) > (@at, @id) AND ended_at < @before
       ORDER BY ended_at, id LIMIT @limit`,
    );
    this.deleteJobLogsStatement = db.prepare<[string, number]>(
      `DELETE FROM job_logs WHERE id IN (
         SELECT id FROM job_logs WHERE job_id = ? ORDER BY id LIMIT ?)`,
    );
    this.deleteJobEventsStatement = db.prepare<[string, number]>(
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE job_id = ? ORDER BY id LIMIT ?)`,
    );
    // Only a finished job: one requeued or reopened since it was listed stays.
    this.deleteFinishedJobStatement = db.prepare<[string]>(
      `DELETE FROM jobs WHERE id = ? AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')`,
    );
    this.cursorStatement = db.prepare<[string], { position: string }>(
      "SELECT position FROM retention_cursors WHERE name = ?",
    );
    this.setCursorStatement = db.prepare<[string, string]>(
      `INSERT INTO retention_cursors (name, position) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
    );
  }

  /** Removes up to `limit` events recorded before `before`, oldest first. */
  deleteEventsBefore(before: string, limit: number): number {
    return this.deleteEventsBeforeStatement.run(before, limit).changes;
  }

  /** Finished jobs that ended before `before`, after `cursor` in (ended_at, id) order. */
  finishedJobs(before: string, cursor: JobEndCursor | undefined, limit: number): FinishedJobRef[] {
    return this.finishedJobsStatement.all({
      at: cursor?.endedAt ?? "",
      id: cursor?.id ?? "",
      before,
      limit,
    });
  }

  deleteJobLogs(jobId: string, limit: number): number {
    return this.deleteJobLogsStatement.run(jobId, limit).changes;
  }

  deleteJobEvents(jobId: string, limit: number): number {
    return this.deleteJobEventsStatement.run(jobId, limit).changes;
  }

  /** Removes a finished job; its phases (and any lines or events left) cascade. */
  deleteFinishedJob(jobId: string): boolean {
    return this.deleteFinishedJobStatement.run(jobId).changes > 0;
  }

  jobEndCursor(name: string): JobEndCursor | undefined {
    const row = this.cursorStatement.get(name);
    if (!row) return undefined;
    const parsed = JSON.parse(row.position) as Partial<JobEndCursor>;
    return typeof parsed.endedAt === "string" && typeof parsed.id === "string"
      ? { endedAt: parsed.endedAt, id: parsed.id }
      : undefined;
  }

  setJobEndCursor(name: string, cursor: JobEndCursor): void {
    this.setCursorStatement.run(name, JSON.stringify(cursor));
  }
}
