import type { DeploymentRow } from "../../store/deployments-store";
import type { BackupCatalog } from "../backup-catalog";
import type { Stores } from "../control-context";
import { settingsFromRow } from "../deployment-settings";
import { newId } from "../identifiers";

/**
 * The catalog entry of a backup an agent took on its own (no job): the deployment's next
 * sequence (the Zeebe rule, as `BackupsService.take` allocates it), trigger `agent`, one
 * IN_PROGRESS part from the run's start. Runs inside the caller's transaction; answers the id.
 */
export function reserveAgentBackup(
  stores: Stores,
  catalog: BackupCatalog,
  deployment: DeploymentRow,
  run: { run: string; at: string; agentId: string },
): string {
  const settings = settingsFromRow(deployment);
  const sequence =
    Math.max(deployment.last_sequence, stores.backups.maxSequence(deployment.id)) + 1;
  const id = newId("bak");
  stores.deployments.advanceLastSequence(deployment.id, sequence);
  stores.backups.insert({
    id,
    tenant_id: deployment.tenant_id,
    deployment_id: deployment.id,
    deployment_name: deployment.name,
    sequence,
    level: "full",
    parent_id: null,
    session_id: id,
    state: "DOES_NOT_EXIST",
    failure_reason: null,
    trigger: "agent",
    job_id: null,
    metadata: JSON.stringify({
      backup_name: deployment.name,
      mode: settings.kind,
      compression_alg: settings.compression,
      encrypted: settings.encryption !== null,
      // As BackupsService.take records them: a restore or verify job of this backup needs the key.
      ...(settings.encryption
        ? {
            encryption_algorithm: settings.encryption.algorithm,
            key_ref: settings.encryption.key_ref,
          }
        : {}),
      run: run.run,
    }),
    uncompressed_bytes: null,
    compressed_bytes: null,
    stored_bytes: null,
    session_total_bytes: null,
    sha256: null,
    locations: "[]",
    queued_at: run.at,
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
    created_at: run.at,
  });
  catalog.started({ backup_id: id, deployment_id: deployment.id }, run.at);
  stores.eventLog.record({
    tenantId: deployment.tenant_id,
    deploymentId: deployment.id,
    op: "backup_started",
    subject: { backup: id, agent: run.agentId },
    body: { sequence, run: run.run, trigger: "agent" },
    at: run.at,
  });
  return id;
}
