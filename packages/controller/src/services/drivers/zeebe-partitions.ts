import type { components } from "@stowage/zeebe-backup-client";
import type { PartReport, ResultManifest } from "../backup-catalog";

export type ZeebeBackupInfo = components["schemas"]["BackupInfo"];
type PartitionInfo = components["schemas"]["PartitionBackupInfo"];

/** Where a Zeebe backup stands for the job that takes it. */
export type ZeebeOutcome =
  { state: "running" } | { state: "completed" } | { state: "failed"; reason: string };

/**
 * The job's view of Zeebe's partition states, read per partition rather than from Zeebe's
 * aggregate: completed only when there are partitions and every one is COMPLETED (an empty
 * `details` is no backup yet). FAILED and INCOMPATIBLE partitions are final; the rest
 * (IN_PROGRESS, DOES_NOT_EXIST on a partition that has not started) are waited for.
 */
export function zeebeOutcome(info: ZeebeBackupInfo): ZeebeOutcome {
  const failed = info.details.find((partition) => partition.state === "FAILED");
  if (failed) {
    const reason = failed.failureReason || info.failureReason || "no reason given";
    return { state: "failed", reason: `partition ${failed.partitionId} failed: ${reason}` };
  }
  const incompatible = info.details.find((partition) => partition.state === "INCOMPATIBLE");
  if (incompatible) {
    return {
      state: "failed",
      reason: `partition ${incompatible.partitionId} is INCOMPATIBLE: its broker (${incompatible.brokerVersion ?? "unknown version"}) cannot take this backup`,
    };
  }
  const completed =
    info.details.length > 0 && info.details.every((partition) => partition.state === "COMPLETED");
  return completed ? { state: "completed" } : { state: "running" };
}

/** One catalog part per partition (`partition-<id>`), Zeebe's facts in its details. */
export function partsOf(info: ZeebeBackupInfo): PartReport[] {
  return [...info.details]
    .sort((a, b) => a.partitionId - b.partitionId)
    .map((partition) => ({
      name: `partition-${partition.partitionId}`,
      state: partition.state,
      // Zeebe answers "" for a partition that did not fail.
      failure_reason: partition.failureReason || null,
      created_at: partition.createdAt ?? null,
      updated_at: partition.lastUpdatedAt ?? null,
      details: detailsOf(partition),
    }));
}

/**
 * The manifest of a COMPLETED Zeebe backup. The brokers write it to their own backup store,
 * which the management API does not name, and report neither sizes nor checksums: the location
 * is the backup's URL on the management API, the size 0 and the digest empty.
 */
export function zeebeManifest(
  apiUrl: string,
  info: ZeebeBackupInfo,
  fallbackStartedAt: string,
): ResultManifest {
  const created = info.details.flatMap((partition) => times(partition.createdAt));
  const updated = info.details.flatMap((partition) => times(partition.lastUpdatedAt));
  const versions = [...new Set(info.details.flatMap((partition) => partition.brokerVersion ?? []))];
  return {
    size_bytes: 0,
    sha256: "",
    location: `${apiUrl.replace(/\/+$/, "")}/${info.backupId}`,
    started_at: created.length > 0 ? iso(Math.min(...created)) : fallbackStartedAt,
    finished_at: updated.length > 0 ? iso(Math.max(...updated)) : new Date().toISOString(),
    timings: [],
    metadata: {
      engine: "zeebe",
      zeebe_backup_id: info.backupId,
      partitions: info.details.length,
      ...(versions.length > 0 ? { engine_version: versions.join(", ") } : {}),
    },
    parts: partsOf(info),
  };
}

function detailsOf(partition: PartitionInfo): Record<string, unknown> {
  const details: Record<string, unknown> = { partition_id: partition.partitionId };
  if (partition.snapshotId !== undefined) details.snapshot_id = partition.snapshotId;
  if (partition.checkpointPosition !== undefined)
    details.checkpoint_position = partition.checkpointPosition;
  if (partition.brokerId !== undefined) details.broker_id = partition.brokerId;
  if (partition.brokerVersion !== undefined) details.broker_version = partition.brokerVersion;
  return details;
}

/** Zeebe's timestamps carry nanoseconds; `Date.parse` keeps the milliseconds. */
function times(value: string | undefined): number[] {
  const ms = value ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? [] : [ms];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
