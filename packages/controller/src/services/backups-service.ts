import { ApiError, SerializedJson } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { StoredBackupRow } from "../store/backups-store";
import type { DeploymentRow } from "../store/deployments-store";
import { presentBackup, type BackupView } from "./backup-catalog";
import { queueBackupFileDeletes } from "./backup-file-deletes";
import type { BackupState } from "./backup-state";
import type { CallContext, Stores } from "./control-context";
import { settingsFromRow } from "./deployment-settings";
import { GenerationCache } from "./generation-cache";
import { newId, nowIso } from "./identifiers";
import { isFinished, type JobsService, type JobView } from "./jobs-service";
import { pageRequest, toPage, type Page } from "./pagination";
import { actorOf, SYSTEM_ACTOR, type Actor, type OperatorPrincipal } from "./principal";

type Call = CallContext<OperatorPrincipal>;
type TakeBackupRequest = components["schemas"]["TakeBackupRequest"];

/** A listing as JSON, and its marker again for the `Link` header. */
export interface BackupListing {
  json: SerializedJson<Page<BackupView>>;
  next_marker: string | null;
}

/** Pages kept at once, each at most `MAX_CACHED_PAGE_BYTES`: a few MiB at worst. */
const CACHED_PAGES = 32;
/** About 125 backups of two parts; a page of 1,000 is not kept. */
const MAX_CACHED_PAGE_BYTES = 256 * 1024;

export interface BackupListQuery {
  limit?: number;
  marker?: string;
  state?: BackupState;
  include_deleted?: boolean;
}

/** The caller's deployment by id or name; another tenant's is 404, never 403. */
export function deploymentOf(stores: Stores, call: Call, idOrName: string): DeploymentRow {
  const deployment = stores.deployments.byIdOrName(call.principal.tenantId, idOrName);
  if (!deployment) {
    throw new ApiError(404, "resource.not_found", `No deployment ${idOrName}.`, {
      subject: { deployment: idOrName },
    });
  }
  return deployment;
}

/** The catalog as operators see it: take, list, read, tombstone, hold and verify backups. */
export class BackupsService {
  /**
   * Pages answered lately, by tenant, deployment (as the caller named it), filter and position,
   * valid while `backup_changes` does not move (any change to any backup, and a deployment
   * created, deleted or renamed, forgets them all). A dashboard polling the first page then
   * costs a lookup, not a read of the deployment, the page and its encoding.
   */
  private readonly pages: GenerationCache<BackupListing>;

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
  ) {
    this.pages = new GenerationCache(CACHED_PAGES, stores.changes, () =>
      stores.backups.generation(),
    );
  }

  /**
   * Queues a backup: reserves its sequence (the Zeebe rule: absent, the last plus one; one not
   * higher than the last, tombstoned backups included, is 409) and its catalog entry.
   */
  take(call: Call, deploymentRef: string, input: TakeBackupRequest = {}): JobView {
    return this.stores.db.transaction(() =>
      this.reserve(deploymentOf(this.stores, call, deploymentRef), input, {
        trigger: "manual",
        actor: actorOf(call.principal),
        requestId: call.requestId,
      }),
    )();
  }

  /**
   * A backup the scheduler queues for a slot: the same reservation as `take`, triggered by the
   * schedule and audited as the system's. 429 at the job limit, like any take.
   */
  takeScheduled(
    deployment: DeploymentRow,
    input: { level?: "full" | "incremental"; slot: string },
  ): JobView {
    return this.stores.db.transaction(() =>
      this.reserve(
        deployment,
        { level: input.level },
        { trigger: "schedule", actor: SYSTEM_ACTOR, details: { slot: input.slot } },
      ),
    )();
  }

  private reserve(
    deployment: DeploymentRow,
    input: TakeBackupRequest,
    by: {
      trigger: "manual" | "schedule";
      actor: Actor;
      requestId?: string;
      details?: Record<string, unknown>;
    },
  ): JobView {
    const settings = settingsFromRow(deployment);
    const unknownTargets = (input.target_ids ?? [])
      .map((id, index) => ({ id, index }))
      .filter(({ id }) => !settings.target_ids.includes(id));
    if (unknownTargets.length > 0) {
      throw new ApiError(400, "request.invalid", "Backups go only to the deployment's targets.", {
        details: unknownTargets.map(({ id, index }) => ({
          path: `/body/target_ids/${index}`,
          message: `${id} is not one of the deployment's targets`,
        })),
      });
    }
    // Both: last_sequence is the record, and the catalog covers backups adopted from a
    // deleted deployment of the same name, whose sequences the new row never saw.
    const last = Math.max(deployment.last_sequence, this.stores.backups.maxSequence(deployment.id));
    if (input.sequence !== undefined && input.sequence <= last) {
      throw new ApiError(
        409,
        "resource.conflict",
        `Sequence ${input.sequence} is not higher than the deployment's last (${last}); sequences are never reused.`,
        {
          subject: { deployment: deployment.id, sequence: input.sequence, last_sequence: last },
          suggestion: {
            human: `Use a sequence above ${last}, or leave it out to get ${last + 1}.`,
          },
        },
      );
    }
    const sequence = input.sequence ?? last + 1;
    // An incremental builds on the newest COMPLETED backup; without one it is taken as full.
    const parent =
      input.level === "incremental"
        ? this.stores.backups.latestCompleted(deployment.id)
        : undefined;
    const level = parent ? "incremental" : "full";
    const backupId = newId("bak");
    const job = this.jobs.enqueueJob({
      deployment,
      kind: "backup",
      trigger: by.trigger,
      id: newId("job"),
      backupId,
      sequence,
      params: {
        level,
        ...(input.target_ids ? { target_ids: input.target_ids } : {}),
      },
    });
    const at = job.created_at;
    this.stores.deployments.advanceLastSequence(deployment.id, sequence);
    this.stores.backups.insert({
      id: backupId,
      tenant_id: deployment.tenant_id,
      deployment_id: deployment.id,
      deployment_name: deployment.name,
      sequence,
      level,
      parent_id: parent?.id ?? null,
      session_id: parent?.session_id ?? backupId,
      state: "DOES_NOT_EXIST",
      failure_reason: null,
      trigger: by.trigger,
      job_id: job.id,
      metadata: JSON.stringify({
        backup_name: deployment.name,
        mode: settings.kind,
        compression_alg: settings.compression,
        encrypted: settings.encryption !== null,
        ...(settings.encryption
          ? {
              encryption_algorithm: settings.encryption.algorithm,
              key_ref: settings.encryption.key_ref,
            }
          : {}),
        ...(input.note !== undefined ? { note: input.note } : {}),
      }),
      uncompressed_bytes: null,
      compressed_bytes: null,
      stored_bytes: null,
      session_total_bytes: null,
      sha256: null,
      locations: "[]",
      queued_at: at,
      started_at: null,
      completed_at: null,
      duration_ms: null,
      verification: null,
      held: 0,
      hold_reason: null,
      held_at: null,
      deleted_at: null,
      deleted_by: null,
      deleted_reason: null,
      created_at: at,
    });
    this.stores.auditLog.append({
      tenantId: deployment.tenant_id,
      actor: by.actor,
      action: "backups.take",
      subject: { deployment: deployment.id, backup: backupId, job: job.id },
      details: {
        sequence,
        level,
        trigger: by.trigger,
        ...(input.note !== undefined ? { note: input.note } : {}),
        ...(input.target_ids ? { target_ids: input.target_ids } : {}),
        ...by.details,
      },
      requestId: by.requestId ?? null,
    });
    return this.jobs.present(job);
  }

  /**
   * Newest sequence first, keyset-paginated on the sequence (an index seek on every page). The
   * page is the stored views (migration 8) joined as they are: nothing is parsed or serialized
   * per backup, which was most of a listing's cost.
   */
  list(call: Call, deploymentRef: string, query: BackupListQuery): BackupListing {
    const includeDeleted = query.include_deleted ?? false;
    const key = [
      call.principal.tenantId,
      deploymentRef,
      query.state,
      includeDeleted,
      query.marker,
      query.limit,
    ].join("\n");
    this.pages.refresh();
    const cached = this.pages.get(key);
    if (cached) return cached;
    const deployment = deploymentOf(this.stores, call, deploymentRef);
    const request = pageRequest(query);
    const before = request.after === undefined ? Number.MAX_SAFE_INTEGER : Number(request.after);
    if (!Number.isSafeInteger(before)) {
      throw new ApiError(400, "request.invalid", "The marker is not one this server issued.", {
        details: [{ path: "/query/marker", message: "is not a valid marker" }],
      });
    }
    const rows = this.stores.backups.page({
      deploymentId: deployment.id,
      beforeSequence: before,
      limit: request.limit + 1,
      state: query.state,
      includeDeleted,
    });
    const { items, next_marker } = toPage(rows, request, (row) => String(row.sequence));
    const views = items.map((row) => row.view).join(",");
    const json = `{"items":[${views}],"next_marker":${JSON.stringify(next_marker)}}`;
    const listing = { json: new SerializedJson<Page<BackupView>>(Buffer.from(json)), next_marker };
    if (listing.json.byteLength <= MAX_CACHED_PAGE_BYTES) this.pages.set(key, listing);
    return listing;
  }

  /** The manifest; a tombstoned backup is answered (with `deleted`), not 404. */
  get(call: Call, deploymentRef: string, backupId: string): BackupView {
    const deployment = deploymentOf(this.stores, call, deploymentRef);
    return presentBackup(this.backupOf(deployment, backupId));
  }

  /**
   * Tombstones a backup, and on a pull deployment queues the delete job that removes its files;
   * 409 while held or while a job is writing it. Idempotent.
   */
  delete(call: Call, deploymentRef: string, backupId: string): BackupView {
    return this.stores.db.transaction(() => {
      const deployment = deploymentOf(this.stores, call, deploymentRef);
      const backup = this.backupOf(deployment, backupId);
      if (backup.deleted_at) return presentBackup(backup);
      if (backup.held) {
        throw new ApiError(409, "resource.conflict", `Backup ${backup.id} is on hold.`, {
          subject: { backup: backup.id, hold_reason: backup.hold_reason },
          suggestion: {
            human: "Release the hold first, if it may be released.",
            command: `stowage backups release ${deployment.name} ${backup.id}`,
          },
        });
      }
      const job = backup.job_id
        ? this.stores.jobs.byId(backup.job_id, backup.tenant_id)
        : undefined;
      if (job && !isFinished(job.status)) {
        throw new ApiError(
          409,
          "resource.conflict",
          `Backup ${backup.id} is still being written.`,
          {
            subject: { backup: backup.id, job: job.id, status: job.status },
            suggestion: {
              human: "Cancel its job first, or wait for it to end.",
              command: `stowage jobs cancel ${job.id}`,
            },
          },
        );
      }
      const at = nowIso();
      this.stores.backups.tombstone(backup.id, at, `token:${call.principal.tokenId}`, null);
      this.stores.auditLog.append({
        tenantId: deployment.tenant_id,
        actor: actorOf(call.principal),
        action: "backups.delete",
        subject: { deployment: deployment.id, backup: backup.id },
        details: { sequence: backup.sequence },
        requestId: call.requestId,
      });
      this.stores.eventLog.record({
        tenantId: deployment.tenant_id,
        deploymentId: deployment.id,
        op: "backup_deleted",
        subject: { backup: backup.id },
        body: { sequence: backup.sequence, by: `token:${call.principal.tokenId}` },
        at,
      });
      queueBackupFileDeletes(this.stores, this.jobs, deployment, backup.id, "manual");
      return presentBackup(this.backupOf(deployment, backup.id));
    })();
  }

  /** A legal hold: never pruned, DELETE is 409 until released. A new reason replaces the old. */
  hold(call: Call, deploymentRef: string, backupId: string, reason?: string): BackupView {
    return this.stores.db.transaction(() => {
      const deployment = deploymentOf(this.stores, call, deploymentRef);
      const backup = this.backupOf(deployment, backupId);
      if (backup.deleted_at) {
        throw new ApiError(409, "resource.conflict", `Backup ${backup.id} is tombstoned.`, {
          subject: { backup: backup.id },
        });
      }
      this.stores.backups.hold(backup.id, reason ?? null, nowIso());
      this.stores.auditLog.append({
        tenantId: deployment.tenant_id,
        actor: actorOf(call.principal),
        action: "backups.hold",
        subject: { deployment: deployment.id, backup: backup.id },
        details: { reason: reason ?? null },
        requestId: call.requestId,
      });
      return presentBackup(this.backupOf(deployment, backup.id));
    })();
  }

  /** Releases a hold; a backup that is not held is answered unchanged. */
  release(call: Call, deploymentRef: string, backupId: string): BackupView {
    return this.stores.db.transaction(() => {
      const deployment = deploymentOf(this.stores, call, deploymentRef);
      const backup = this.backupOf(deployment, backupId);
      if (!backup.held) return presentBackup(backup);
      this.stores.backups.release(backup.id);
      this.stores.auditLog.append({
        tenantId: deployment.tenant_id,
        actor: actorOf(call.principal),
        action: "backups.release_hold",
        subject: { deployment: deployment.id, backup: backup.id },
        details: { reason: backup.hold_reason },
        requestId: call.requestId,
      });
      return presentBackup(this.backupOf(deployment, backup.id));
    })();
  }

  /** Queues a verify job for a COMPLETED, live backup (409 otherwise; 429 over the limit). */
  verify(call: Call, deploymentRef: string, backupId: string): JobView {
    return this.stores.db.transaction(() => {
      const deployment = deploymentOf(this.stores, call, deploymentRef);
      const backup = this.backupOf(deployment, backupId);
      if (backup.deleted_at || backup.state !== "COMPLETED") {
        throw new ApiError(
          409,
          "resource.conflict",
          backup.deleted_at
            ? `Backup ${backup.id} is tombstoned.`
            : `Backup ${backup.id} is ${backup.state}: only a COMPLETED backup can be verified.`,
          { subject: { backup: backup.id, state: backup.state } },
        );
      }
      const job = this.jobs.enqueueJob({
        deployment,
        kind: "verify",
        trigger: "manual",
        backupId: backup.id,
        eventBody: { backup: backup.id },
      });
      this.stores.auditLog.append({
        tenantId: deployment.tenant_id,
        actor: actorOf(call.principal),
        action: "backups.verify",
        subject: { deployment: deployment.id, backup: backup.id, job: job.id },
        details: { sequence: backup.sequence },
        requestId: call.requestId,
      });
      return this.jobs.present(job);
    })();
  }

  private backupOf(deployment: DeploymentRow, backupId: string): StoredBackupRow {
    const backup = this.stores.backups.byId(backupId, deployment.id);
    if (!backup) {
      throw new ApiError(
        404,
        "resource.not_found",
        `No backup ${backupId} of ${deployment.name}.`,
        {
          subject: { deployment: deployment.id, backup: backupId },
        },
      );
    }
    return backup;
  }
}
