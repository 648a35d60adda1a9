import type { components as AgentComponents } from "@stowage/agent-server";
import type { StoredBackupRow } from "../store/backups-store";
import type { DeploymentRow } from "../store/deployments-store";
import type { JobRow } from "../store/jobs-store";
import type { Stores } from "./control-context";
import { settingsFromRow } from "./deployment-settings";
import type { JobsService } from "./jobs-service";

type StoredBackupFiles = AgentComponents["schemas"]["StoredBackupFiles"];

/**
 * A delete job's `params`: the files as the catalog knew them at the tombstone, so the job says
 * by itself what it removes, whatever happens to the catalog entry later (an adoption moves it).
 */
type DeleteParams = {
  locations: string[];
  sha256: string;
  size_bytes: number;
};

/**
 * Queues, in the caller's transaction, the `delete` jobs a tombstone calls for on a `pull`
 * deployment: the tombstoned backup's own, unless a live backup still builds on it (control.yaml's
 * deleteBackup: a full backup's files stay until its incrementals go too), then those of its
 * tombstoned ancestors that it was the last live backup to build on. A backup with no stored
 * files (it never completed) or no digest (reported by an agent that runs no jobs) needs none.
 * Holds need no check here: a held backup is never tombstoned.
 */
export function queueBackupFileDeletes(
  stores: Stores,
  jobs: JobsService,
  deployment: DeploymentRow,
  backupId: string,
  trigger: "manual" | "retention",
): JobRow[] {
  if (settingsFromRow(deployment).driver.type !== "pull") return [];
  const queued: JobRow[] = [];
  let backup = stores.backups.byId(backupId, deployment.id);
  while (backup?.deleted_at && !stores.backups.hasLiveChild(backup)) {
    const params = deleteParamsOf(backup);
    if (params) {
      queued.push(
        jobs.enqueueJob({
          deployment,
          kind: "delete",
          trigger,
          backupId: backup.id,
          sequence: backup.sequence,
          params,
          eventBody: { backup: backup.id },
        }),
      );
    }
    backup = backup.parent_id ? stores.backups.byId(backup.parent_id, deployment.id) : undefined;
  }
  return queued;
}

/** The agent API's `StoredBackupFiles` of a claimed delete job. */
export function storedFilesOf(job: JobRow): StoredBackupFiles {
  const params = JSON.parse(job.params) as DeleteParams;
  return {
    id: job.backup_id ?? "",
    sequence: job.sequence ?? 0,
    sha256: params.sha256,
    size_bytes: params.size_bytes,
    locations: params.locations,
  };
}

function deleteParamsOf(backup: StoredBackupRow): DeleteParams | undefined {
  const locations = (JSON.parse(backup.locations) as { url: string }[])
    .map((location) => location.url)
    .filter((url) => url !== "");
  if (locations.length === 0 || backup.sha256 === null || backup.stored_bytes === null) {
    return undefined;
  }
  return { locations, sha256: backup.sha256, size_bytes: backup.stored_bytes };
}
