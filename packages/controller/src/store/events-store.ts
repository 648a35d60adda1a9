import type { Db } from "./database";

/** A row of `events`; `subject` and `body` are JSON text. */
export interface EventRow {
  id: number;
  public_id: string;
  tenant_id: string;
  deployment_id: string | null;
  job_id: string | null;
  op: string;
  severity: string;
  subject: string;
  body: string;
  at: string;
}

export interface EventPageQuery {
  tenantId: string;
  /** The last id of the previous page or stream batch (oldest first). */
  afterId: number;
  limit: number;
  /** Only events at or after this time. */
  since?: string;
  deploymentId?: string;
  op?: string;
}

/** The listing's variants (oldest first, keyset on the id), exported so a test can EXPLAIN them. */
export const EVENT_PAGE_SQL = {
  byTenant: `SELECT * FROM events WHERE tenant_id = @tenant AND id > @after AND at >= @since
    ORDER BY id LIMIT @limit`,
  byDeployment: `SELECT * FROM events WHERE tenant_id = @tenant AND deployment_id = @deployment
    AND id > @after AND at >= @since AND (@op IS NULL OR op = @op)
    ORDER BY id LIMIT @limit`,
  byOp: `SELECT * FROM events WHERE tenant_id = @tenant AND op = @op AND id > @after AND at >= @since
    ORDER BY id LIMIT @limit`,
} as const;

export class EventsStore {
  private readonly insertStatement;
  private readonly firstSinceStatement;
  private readonly maxIdStatement;
  private readonly pageByTenant;
  private readonly pageByDeployment;
  private readonly pageByOp;
  private readonly ofJobStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<Omit<EventRow, "id">>(
      `INSERT INTO events (public_id, tenant_id, deployment_id, job_id, op, severity, subject, body, at)
       VALUES (@public_id, @tenant_id, @deployment_id, @job_id, @op, @severity, @subject, @body, @at)`,
    );
    // `since` becomes an id bound once (ids grow with time), so every page is an id range seek
    // rather than a scan of everything older than `since`.
    this.firstSinceStatement = db.prepare<[string], { id: number }>(
      "SELECT id FROM events WHERE at >= ? ORDER BY at, id LIMIT 1",
    );
    this.maxIdStatement = db.prepare<[], { id: number }>(
      "SELECT coalesce(max(id), 0) AS id FROM events",
    );
    type PageParams = { tenant: string; after: number; limit: number; since: string };
    this.pageByTenant = db.prepare<PageParams, EventRow>(EVENT_PAGE_SQL.byTenant);
    this.pageByDeployment = db.prepare<
      PageParams & { deployment: string; op: string | null },
      EventRow
    >(EVENT_PAGE_SQL.byDeployment);
    this.pageByOp = db.prepare<PageParams & { op: string }, EventRow>(EVENT_PAGE_SQL.byOp);
    this.ofJobStatement = db.prepare<[string, number, number], EventRow>(
      "SELECT * FROM events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
    );
  }

  insert(row: Omit<EventRow, "id">): EventRow {
    const id = Number(this.insertStatement.run(row).lastInsertRowid);
    return { id, ...row };
  }

  /** Where a listing from `since` starts: before the first event at or after it, else after the last. */
  idBefore(since: string): number {
    const row = this.firstSinceStatement.get(since);
    return row ? row.id - 1 : (this.maxIdStatement.get()?.id ?? 0);
  }

  page(query: EventPageQuery): EventRow[] {
    const params = {
      tenant: query.tenantId,
      after: query.afterId,
      limit: query.limit,
      since: query.since ?? "",
    };
    if (query.deploymentId !== undefined) {
      return this.pageByDeployment.all({
        ...params,
        deployment: query.deploymentId,
        op: query.op ?? null,
      });
    }
    if (query.op !== undefined) return this.pageByOp.all({ ...params, op: query.op });
    return this.pageByTenant.all(params);
  }

  ofJob(jobId: string, afterId: number, limit: number): EventRow[] {
    return this.ofJobStatement.all(jobId, afterId, limit);
  }
}
