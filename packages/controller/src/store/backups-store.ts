import type { Db } from "./database";

/** A row of `backups` as written; JSON columns are text here and parsed by the services. */
export interface BackupRow {
  id: string;
  tenant_id: string;
  deployment_id: string;
  deployment_name: string;
  sequence: number;
  level: "full" | "incremental";
  parent_id: string | null;
  session_id: string;
  state: string;
  failure_reason: string | null;
  trigger: string;
  job_id: string | null;
  metadata: string;
  uncompressed_bytes: number | null;
  compressed_bytes: number | null;
  stored_bytes: number | null;
  session_total_bytes: number | null;
  sha256: string | null;
  locations: string;
  queued_at: string;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  verification: string | null;
  held: number;
  hold_reason: string | null;
  held_at: string | null;
  deleted_at: string | null;
  deleted_by: string | null;
  deleted_reason: string | null;
  created_at: string;
}

/**
 * A row as read: with `view`, the backup as the control API shows it (the spec's `Backup` as JSON
 * text), which the database's triggers rewrite with every change to the row or its parts.
 */
export interface StoredBackupRow extends BackupRow {
  view: string;
}

/** What a listing reads of each backup: its key and its view. */
export type BackupPageRow = Pick<StoredBackupRow, "sequence" | "view">;

export interface BackupPartRow {
  backup_id: string;
  position: number;
  name: string;
  state: string;
  failure_reason: string | null;
  size_bytes: number | null;
  sha256: string | null;
  created_at: string | null;
  updated_at: string | null;
  details: string;
}

/** What a completed job writes into its backup. */
export type BackupResultUpdate = Pick<
  BackupRow,
  | "id"
  | "metadata"
  | "uncompressed_bytes"
  | "compressed_bytes"
  | "stored_bytes"
  | "session_total_bytes"
  | "sha256"
  | "locations"
  | "completed_at"
  | "duration_ms"
>;

/** The backups a deleted deployment left under one name: whose, and their sequence range. */
interface OrphanGroup {
  deployment_id: string;
  low: number;
  high: number;
}

export interface BackupPageQuery {
  deploymentId: string;
  /** The last sequence of the previous page; the first page starts above every sequence. */
  beforeSequence: number;
  limit: number;
  state?: string;
  includeDeleted: boolean;
}

/** Retention reads only what its rules look at. */
export type RetentionCandidateRow = Pick<
  BackupRow,
  "id" | "sequence" | "parent_id" | "state" | "held" | "completed_at" | "created_at"
>;

/**
 * The listing's four variants, exported so a test can EXPLAIN them. Four statements rather than
 * one with optional terms: SQLite picks a partial index only when the query itself says
 * `deleted_at IS NULL`, and an `(@state IS NULL OR ...)` term would keep the state index unused.
 * They read the stored view, not the columns it is made of (migration 8).
 */
export const BACKUP_PAGE_SQL = {
  live: `SELECT sequence, view FROM backups
    WHERE deployment_id = @deployment AND deleted_at IS NULL AND sequence < @before
    ORDER BY sequence DESC LIMIT @limit`,
  all: `SELECT sequence, view FROM backups
    WHERE deployment_id = @deployment AND sequence < @before
    ORDER BY sequence DESC LIMIT @limit`,
  liveByState: `SELECT sequence, view FROM backups
    WHERE deployment_id = @deployment AND state = @state AND deleted_at IS NULL AND sequence < @before
    ORDER BY sequence DESC LIMIT @limit`,
  allByState: `SELECT sequence, view FROM backups
    WHERE deployment_id = @deployment AND state = @state AND sequence < @before
    ORDER BY sequence DESC LIMIT @limit`,
} as const;

export class BackupsStore {
  private readonly insertStatement;
  private readonly byIdStatement;
  private readonly pageLive;
  private readonly pageAll;
  private readonly pageLiveByState;
  private readonly pageAllByState;
  private readonly latestCompletedStatement;
  private readonly liveChildStatement;
  private readonly maxSequenceStatement;
  private readonly setStateStatement;
  private readonly setStartedStatement;
  private readonly setResultStatement;
  private readonly setVerificationStatement;
  private readonly holdStatement;
  private readonly releaseStatement;
  private readonly tombstoneStatement;
  private readonly retentionCandidatesStatement;
  private readonly orphanGroupsStatement;
  private readonly adoptStatement;
  private readonly countByStateStatement;
  private readonly insertPartStatement;
  private readonly updatePartStatement;
  private readonly partsStatement;
  private readonly deletePartsStatement;
  private readonly generationStatement;

  constructor(db: Db) {
    this.insertStatement = db.prepare<BackupRow>(
      `INSERT INTO backups (id, tenant_id, deployment_id, deployment_name, sequence, level, parent_id,
         session_id, state, failure_reason, trigger, job_id, metadata, uncompressed_bytes,
         compressed_bytes, stored_bytes, session_total_bytes, sha256, locations, queued_at,
         started_at, completed_at, duration_ms, verification, held, hold_reason, held_at,
         deleted_at, deleted_by, deleted_reason, created_at)
       VALUES (@id, @tenant_id, @deployment_id, @deployment_name, @sequence, @level, @parent_id,
         @session_id, @state, @failure_reason, @trigger, @job_id, @metadata, @uncompressed_bytes,
         @compressed_bytes, @stored_bytes, @session_total_bytes, @sha256, @locations, @queued_at,
         @started_at, @completed_at, @duration_ms, @verification, @held, @hold_reason, @held_at,
         @deleted_at, @deleted_by, @deleted_reason, @created_at)`,
    );
    this.byIdStatement = db.prepare<[string, string], StoredBackupRow>(
      "SELECT * FROM backups WHERE id = ? AND deployment_id = ?",
    );
    type PageParams = { deployment: string; before: number; limit: number };
    this.pageLive = db.prepare<PageParams, BackupPageRow>(BACKUP_PAGE_SQL.live);
    this.pageAll = db.prepare<PageParams, BackupPageRow>(BACKUP_PAGE_SQL.all);
    this.pageLiveByState = db.prepare<PageParams & { state: string }, BackupPageRow>(
      BACKUP_PAGE_SQL.liveByState,
    );
    this.pageAllByState = db.prepare<PageParams & { state: string }, BackupPageRow>(
      BACKUP_PAGE_SQL.allByState,
    );
    this.latestCompletedStatement = db.prepare<[string], StoredBackupRow>(
      `SELECT * FROM backups
       WHERE deployment_id = ? AND state = 'COMPLETED' AND deleted_at IS NULL
       ORDER BY sequence DESC LIMIT 1`,
    );
    // A child's sequence is above its parent's: a seek on backups_live from the parent's on.
    this.liveChildStatement = db.prepare<{ deployment: string; id: string; sequence: number }>(
      `SELECT 1 FROM backups
       WHERE deployment_id = @deployment AND deleted_at IS NULL AND sequence > @sequence
         AND parent_id = @id
       LIMIT 1`,
    );
    this.maxSequenceStatement = db.prepare<[string], { sequence: number | null }>(
      "SELECT max(sequence) AS sequence FROM backups WHERE deployment_id = ?",
    );
    this.setStateStatement = db.prepare<{
      id: string;
      state: string;
      failure_reason: string | null;
    }>("UPDATE backups SET state = @state, failure_reason = @failure_reason WHERE id = @id");
    this.setStartedStatement = db.prepare<[string, string]>(
      "UPDATE backups SET started_at = coalesce(started_at, ?) WHERE id = ?",
    );
    this.setResultStatement = db.prepare<BackupResultUpdate>(
      `UPDATE backups SET metadata = @metadata, uncompressed_bytes = @uncompressed_bytes,
         compressed_bytes = @compressed_bytes, stored_bytes = @stored_bytes,
         session_total_bytes = @session_total_bytes, sha256 = @sha256, locations = @locations,
         completed_at = @completed_at, duration_ms = @duration_ms
       WHERE id = @id`,
    );
    this.setVerificationStatement = db.prepare<[string, string]>(
      "UPDATE backups SET verification = ? WHERE id = ?",
    );
    this.holdStatement = db.prepare<{ id: string; reason: string | null; at: string }>(
      `UPDATE backups SET held = 1, hold_reason = @reason, held_at = coalesce(held_at, @at)
       WHERE id = @id`,
    );
    this.releaseStatement = db.prepare<[string]>(
      "UPDATE backups SET held = 0, hold_reason = NULL, held_at = NULL WHERE id = ?",
    );
    this.tombstoneStatement = db.prepare<{
      id: string;
      at: string;
      by: string;
      reason: string | null;
    }>(
      `UPDATE backups SET deleted_at = @at, deleted_by = @by, deleted_reason = @reason
       WHERE id = @id AND deleted_at IS NULL`,
    );
    this.retentionCandidatesStatement = db.prepare<[string], RetentionCandidateRow>(
      `SELECT id, sequence, parent_id, state, held, completed_at, created_at FROM backups
       WHERE deployment_id = ? AND deleted_at IS NULL ORDER BY sequence DESC`,
    );
    // Only backups whose deployment is gone: a live deployment's catalog is never taken over.
    // Orphans by the deleted deployment they belong to, most recently written first; the
    // backups_by_deployment_name index finds them.
    this.orphanGroupsStatement = db.prepare<
      { tenant: string; name: string; deployment: string },
      OrphanGroup
    >(
      `SELECT deployment_id, min(sequence) AS low, max(sequence) AS high
       FROM backups
       WHERE tenant_id = @tenant AND deployment_name = @name AND deployment_id != @deployment
         AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = backups.deployment_id)
       GROUP BY deployment_id
       ORDER BY max(created_at) DESC, deployment_id DESC`,
    );
    this.adoptStatement = db.prepare<{
      tenant: string;
      name: string;
      from: string;
      deployment: string;
    }>(
      `UPDATE backups SET deployment_id = @deployment
       WHERE tenant_id = @tenant AND deployment_name = @name AND deployment_id = @from`,
    );
    this.countByStateStatement = db.prepare<[], { state: string; count: number }>(
      "SELECT label AS state, count FROM catalog_counts WHERE metric = 'backups'",
    );
    this.insertPartStatement = db.prepare<BackupPartRow>(
      `INSERT INTO backup_parts (backup_id, position, name, state, failure_reason, size_bytes,
         sha256, created_at, updated_at, details)
       VALUES (@backup_id, @position, @name, @state, @failure_reason, @size_bytes, @sha256,
         @created_at, @updated_at, @details)`,
    );
    this.updatePartStatement = db.prepare<BackupPartRow>(
      `UPDATE backup_parts SET state = @state, failure_reason = @failure_reason,
         size_bytes = @size_bytes, sha256 = @sha256, updated_at = @updated_at, details = @details
       WHERE backup_id = @backup_id AND name = @name`,
    );
    this.partsStatement = db.prepare<[string], BackupPartRow>(
      "SELECT * FROM backup_parts WHERE backup_id = ? ORDER BY position",
    );
    this.deletePartsStatement = db.prepare<[string]>(
      "DELETE FROM backup_parts WHERE backup_id = ?",
    );
    this.generationStatement = db
      .prepare<[], number>("SELECT generation FROM backup_changes")
      .pluck();
  }

  insert(row: BackupRow): void {
    this.insertStatement.run(row);
  }

  /** The deployment's backup; one of another deployment (or tenant) is `undefined`. */
  byId(id: string, deploymentId: string): StoredBackupRow | undefined {
    return this.byIdStatement.get(id, deploymentId);
  }

  /** Fetches `limit` rows: callers ask for one more than a page to learn whether another follows. */
  page(query: BackupPageQuery): BackupPageRow[] {
    const params = {
      deployment: query.deploymentId,
      before: query.beforeSequence,
      limit: query.limit,
    };
    if (query.state === undefined) {
      return (query.includeDeleted ? this.pageAll : this.pageLive).all(params);
    }
    const statement = query.includeDeleted ? this.pageAllByState : this.pageLiveByState;
    return statement.all({ ...params, state: query.state });
  }

  /** The newest COMPLETED backup that is not tombstoned: what `latest` means. */
  latestCompleted(deploymentId: string): StoredBackupRow | undefined {
    return this.latestCompletedStatement.get(deploymentId);
  }

  /** Whether a backup that is not tombstoned builds on this one (an incremental's parent). */
  hasLiveChild(backup: Pick<BackupRow, "id" | "deployment_id" | "sequence">): boolean {
    return (
      this.liveChildStatement.get({
        deployment: backup.deployment_id,
        id: backup.id,
        sequence: backup.sequence,
      }) !== undefined
    );
  }

  maxSequence(deploymentId: string): number {
    return this.maxSequenceStatement.get(deploymentId)?.sequence ?? 0;
  }

  setState(id: string, state: string, failureReason: string | null): void {
    this.setStateStatement.run({ id, state, failure_reason: failureReason });
  }

  markStarted(id: string, at: string): void {
    this.setStartedStatement.run(at, id);
  }

  setResult(update: BackupResultUpdate): void {
    this.setResultStatement.run(update);
  }

  setVerification(id: string, verification: string): void {
    this.setVerificationStatement.run(verification, id);
  }

  hold(id: string, reason: string | null, at: string): void {
    this.holdStatement.run({ id, reason, at });
  }

  release(id: string): void {
    this.releaseStatement.run(id);
  }

  tombstone(id: string, at: string, by: string, reason: string | null): boolean {
    return this.tombstoneStatement.run({ id, at, by, reason }).changes > 0;
  }

  retentionCandidates(deploymentId: string): RetentionCandidateRow[] {
    return this.retentionCandidatesStatement.all(deploymentId);
  }

  /**
   * Gives the backups of a deleted deployment of this name to the new one (DESIGN 6: they
   * "belong to a deployment of the same name created later"); answers how many moved. Call it
   * in the transaction that creates the deployment, then `maxSequence` for its last_sequence.
   */
  adoptOrphans(tenantId: string, name: string, deploymentId: string): number {
    // Sequences are unique per deployment. Deployments of one name deleted before adoption
    // existed each numbered from 1, so their sequences can clash: the most recent one's
    // backups are adopted, and an older one's only if its sequences clash with none taken.
    const taken: { low: number; high: number }[] = [];
    const own = this.maxSequence(deploymentId);
    if (own > 0) taken.push({ low: 1, high: own });
    let adopted = 0;
    for (const group of this.orphanGroupsStatement.all({
      tenant: tenantId,
      name,
      deployment: deploymentId,
    })) {
      if (taken.some((range) => group.low <= range.high && range.low <= group.high)) continue;
      taken.push(group);
      adopted += this.adoptStatement.run({
        tenant: tenantId,
        name,
        from: group.deployment_id,
        deployment: deploymentId,
      }).changes;
    }
    return adopted;
  }

  /** Live (not tombstoned) backups by aggregated state, for the metrics gauge (trigger-kept counts). */
  countByState(): { state: string; count: number }[] {
    return this.countByStateStatement.all();
  }

  insertPart(row: BackupPartRow): void {
    this.insertPartStatement.run(row);
  }

  updatePart(row: BackupPartRow): void {
    this.updatePartStatement.run(row);
  }

  parts(backupId: string): BackupPartRow[] {
    return this.partsStatement.all(backupId);
  }

  deleteParts(backupId: string): void {
    this.deletePartsStatement.run(backupId);
  }

  /**
   * A number that changes whenever a backup is added, removed, or changes what it shows (its
   * view), by any connection: triggers keep it (migration 8).
   */
  generation(): number {
    return this.generationStatement.get() ?? 0;
  }
}
