import type { components } from "@stowage/control-server";
import type { BackupPartRow, BackupRow, StoredBackupRow } from "../store/backups-store";
import type { DeploymentRow } from "../store/deployments-store";
import type { JobRow } from "../store/jobs-store";
import { aggregateBackupState, type BackupState } from "./backup-state";
import type { Stores } from "./control-context";
import { settingsFromRow } from "./deployment-settings";
import { SYSTEM_ACTOR } from "./principal";
import { backupsToPrune } from "./retention";

export type BackupView = components["schemas"]["Backup"];

/** The part a pull agent's backup is made of until it reports its own parts. */
export const ARTIFACT_PART = "artifact";

/** One part as a driver reports it (a Zeebe partition, a database, an archive). */
export interface PartReport {
  name: string;
  state: BackupState;
  failure_reason?: string | null;
  size_bytes?: number | null;
  sha256?: string | null;
  created_at?: string | null;
  updated_at?: string | null;
  details?: Record<string, unknown>;
}

/**
 * What a successful job produced: the agent API's `ResultManifest` (size, sha256, location,
 * target, compression, encryption, times, phase timings), plus what other drivers can say.
 */
export interface ResultManifest {
  size_bytes: number;
  /** Empty when the agent reported none (databacker's spans carry no checksum): stored as null. */
  sha256: string;
  location: string;
  /** The target's name (as the agent knows it) or id. */
  target?: string;
  compression?: "none" | "gzip";
  encryption?: { algorithm: "aes-256-gcm"; key_ref: string };
  started_at: string;
  finished_at: string;
  timings: { phase: string; duration_ms: number }[];
  uncompressed_bytes?: number;
  compressed_bytes?: number;
  /** Freezer metadata the agent knows (host_name, engine, engine_version, tool_version...). */
  metadata?: Record<string, unknown>;
  /** Replaces the single artifact part (Zeebe partitions, one part per database...). */
  parts?: PartReport[];
  /** The same bytes in further targets, as the agent reports them (target by name). */
  copies?: { location: string; target?: string }[];
}

/**
 * What the catalog needs of a job: its backup. A run an agent reports without a job (its own
 * schedule, `services/agent-events`) names its backup the same way.
 */
export type BackupJobRef = Pick<JobRow, "backup_id" | "deployment_id">;

/** Who tombstones when retention prunes: the spec's `deleted.by`. */
export const RETENTION_ACTOR = "retention";

/**
 * What jobs write into the catalog: a backup's parts, state, results, tombstones by retention.
 * Every method runs inside the caller's transaction.
 */
export class BackupCatalog {
  constructor(private readonly stores: Stores) {}

  /** A claimed backup job: its backup is IN_PROGRESS (one part) until the agent reports. */
  started(job: BackupJobRef, at: string): void {
    const backup = this.backupOf(job);
    if (!backup) return;
    this.stores.backups.markStarted(backup.id, at);
    this.stores.backups.deleteParts(backup.id);
    this.stores.backups.insertPart(
      partRow(backup.id, 0, { name: ARTIFACT_PART, state: "IN_PROGRESS", created_at: at }, at),
    );
    this.refreshState(backup.id, null);
  }

  /** A requeued job starts over: the parts of the lost attempt are gone (DOES_NOT_EXIST). */
  requeued(job: JobRow): void {
    const backup = this.backupOf(job);
    if (!backup) return;
    this.stores.backups.deleteParts(backup.id);
    this.refreshState(backup.id, null);
  }

  /**
   * The parts of a running backup as its driver sees them now (a Zeebe backup's partitions), so
   * the backup's aggregated state follows them before the job ends.
   */
  partsReported(job: BackupJobRef, parts: readonly PartReport[], at: string): void {
    const backup = this.backupOf(job);
    if (!backup) return;
    this.stores.backups.deleteParts(backup.id);
    parts.forEach((part, position) =>
      this.stores.backups.insertPart(partRow(backup.id, position, part, at)),
    );
    this.refreshState(backup.id, null);
  }

  /** A failed or cancelled backup job: its unfinished parts are FAILED with the reason. */
  failed(job: BackupJobRef, reason: string, at: string): void {
    const backup = this.backupOf(job);
    if (!backup) return;
    for (const part of this.stores.backups.parts(backup.id)) {
      if (part.state === "COMPLETED") continue;
      this.stores.backups.updatePart({
        ...part,
        state: "FAILED",
        failure_reason: reason,
        updated_at: at,
      });
    }
    this.refreshState(backup.id, reason);
  }

  /** A backup job that succeeded fills its backup from the manifest. */
  completed(
    job: BackupJobRef,
    deployment: DeploymentRow,
    manifest: ResultManifest,
  ): BackupRow | undefined {
    const backup = this.backupOf(job);
    if (!backup) return undefined;
    const at = manifest.finished_at;
    const existing = this.stores.backups.parts(backup.id);
    const reported: PartReport[] = manifest.parts ?? [
      {
        name: ARTIFACT_PART,
        state: "COMPLETED",
        size_bytes: manifest.size_bytes,
        sha256: manifest.sha256 || null,
        created_at: existing[0]?.created_at ?? manifest.started_at,
        details: { location: manifest.location },
      },
    ];
    this.stores.backups.deleteParts(backup.id);
    reported.forEach((part, position) =>
      this.stores.backups.insertPart(partRow(backup.id, position, part, at)),
    );

    const parent = backup.parent_id
      ? this.stores.backups.byId(backup.parent_id, backup.deployment_id)
      : undefined;
    const metadata = {
      ...(JSON.parse(backup.metadata) as Record<string, unknown>),
      ...manifest.metadata,
      ...(manifest.compression ? { compression_alg: manifest.compression } : {}),
      ...(manifest.encryption
        ? {
            encrypted: true,
            encryption_algorithm: manifest.encryption.algorithm,
            key_ref: manifest.encryption.key_ref,
          }
        : {}),
    };
    const startedAt = backup.started_at ?? manifest.started_at;
    this.stores.backups.setResult({
      id: backup.id,
      metadata: JSON.stringify(metadata),
      uncompressed_bytes: manifest.uncompressed_bytes ?? null,
      compressed_bytes: manifest.compressed_bytes ?? null,
      stored_bytes: manifest.size_bytes,
      session_total_bytes:
        backup.level === "incremental" && parent
          ? (parent.session_total_bytes ?? 0) + manifest.size_bytes
          : manifest.size_bytes,
      sha256: manifest.sha256 || null,
      locations: JSON.stringify([
        { target_id: this.targetIdOf(deployment, manifest.target), url: manifest.location },
        ...(manifest.copies ?? []).map((copy) => ({
          target_id: this.targetIdOf(deployment, copy.target),
          url: copy.location,
        })),
      ]),
      completed_at: at,
      duration_ms: Math.max(0, Date.parse(at) - Date.parse(startedAt)),
    });
    this.refreshState(backup.id, null);
    return this.stores.backups.byId(backup.id, backup.deployment_id);
  }

  /** The outcome of a verify job, kept as the backup's last verification. */
  verified(
    job: JobRow,
    verification: { ok: boolean; at: string; message?: string },
  ): BackupRow | undefined {
    const backup = this.backupOf(job);
    if (!backup) return undefined;
    this.stores.backups.setVerification(
      backup.id,
      JSON.stringify({ job_id: job.id, ...verification }),
    );
    return backup;
  }

  /**
   * Tombstones the COMPLETED backups the deployment's retention policy no longer keeps (never a
   * held one, never a parent of a kept incremental), each with an audit entry by the system and
   * a `backup_pruned` event. Answers the pruned ids.
   */
  prune(deployment: DeploymentRow, at: string): string[] {
    const policy = settingsFromRow(deployment).retention;
    const candidates = this.stores.backups.retentionCandidates(deployment.id).map((row) => ({
      id: row.id,
      sequence: row.sequence,
      parentId: row.parent_id,
      state: row.state as BackupState,
      held: row.held === 1,
      at: row.completed_at ?? row.created_at,
    }));
    const pruned = backupsToPrune(candidates, policy);
    for (const id of pruned) {
      if (!this.stores.backups.tombstone(id, at, RETENTION_ACTOR, "retention policy")) continue;
      const sequence = candidates.find((candidate) => candidate.id === id)?.sequence;
      this.stores.auditLog.append({
        tenantId: deployment.tenant_id,
        actor: SYSTEM_ACTOR,
        action: "backups.prune",
        subject: { deployment: deployment.id, backup: id },
        details: { sequence, retention: policy },
      });
      this.stores.eventLog.record({
        tenantId: deployment.tenant_id,
        deploymentId: deployment.id,
        op: "backup_pruned",
        subject: { backup: id },
        body: { sequence, by: RETENTION_ACTOR },
        at,
      });
    }
    return pruned;
  }

  private backupOf(job: BackupJobRef): BackupRow | undefined {
    return job.backup_id ? this.stores.backups.byId(job.backup_id, job.deployment_id) : undefined;
  }

  private refreshState(backupId: string, failureReason: string | null): void {
    const parts = this.stores.backups.parts(backupId);
    const state = aggregateBackupState(parts.map((part) => ({ state: part.state as BackupState })));
    this.stores.backups.setState(backupId, state, failureReason);
  }

  /** The agent names a target by name; the catalog keeps ids. */
  private targetIdOf(deployment: DeploymentRow, target: string | undefined): string {
    const targetIds = settingsFromRow(deployment).target_ids;
    if (target === undefined) return targetIds[0] ?? "";
    if (targetIds.includes(target)) return target;
    return this.stores.targets.byName(deployment.tenant_id, target)?.id ?? target;
  }
}

function partRow(backupId: string, position: number, part: PartReport, at: string): BackupPartRow {
  return {
    backup_id: backupId,
    position,
    name: part.name,
    state: part.state,
    failure_reason: part.failure_reason ?? null,
    size_bytes: part.size_bytes ?? null,
    sha256: part.sha256 ?? null,
    created_at: part.created_at ?? null,
    updated_at: part.updated_at ?? at,
    details: JSON.stringify(part.details ?? {}),
  };
}

/** The spec's manifest of a backup: its stored view (migration 8), parsed. */
export function presentBackup(row: StoredBackupRow): BackupView {
  return JSON.parse(row.view) as BackupView;
}
