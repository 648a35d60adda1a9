import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { BackupRow } from "../store/backups-store";
import type { DeploymentRow } from "../store/deployments-store";
import type { RestoreRow } from "../store/restores-store";
import { deploymentOf } from "./backups-service";
import type { CallContext, Stores } from "./control-context";
import { settingsFromRow } from "./deployment-settings";
import { newId } from "./identifiers";
import type { JobsService } from "./jobs-service";
import { actorOf, type OperatorPrincipal } from "./principal";

type Call = CallContext<OperatorPrincipal>;
type RestoreRequest = components["schemas"]["RestoreRequest"];
export type RestoreView = components["schemas"]["Restore"];

export class RestoresService {
  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
  ) {}

  /**
   * Queues a restore after its pre-flight checks, each refusal a 412 with a suggestion: no
   * COMPLETED backup for `latest`; the backup is not COMPLETED or is tombstoned; `verify:
   * require` without a SHA-256; an in-place restore (its target is the deployment's own data,
   * never empty) without `force`; the pull agent revoked or offline. Then 409 while another
   * restore of the deployment is queued or running, and 429 over the job limit.
   */
  create(call: Call, deploymentRef: string, input: RestoreRequest): RestoreView {
    return this.stores.db.transaction(() => {
      const deployment = deploymentOf(this.stores, call, deploymentRef);
      const backup = this.backupFor(deployment, input.backup_id);
      const verify = input.verify ?? "auto";
      const force = input.force ?? false;
      this.preflight(deployment, backup, { verify, force, target: input.target });
      if (this.stores.jobs.hasActive(deployment.id, "restore")) {
        throw new ApiError(
          409,
          "resource.conflict",
          `Another restore of ${deployment.name} is queued or running.`,
          {
            subject: { deployment: deployment.id },
            suggestion: {
              human: "Wait for it to end, or cancel it.",
              command: `stowage jobs list --deployment ${deployment.name} --kind restore`,
            },
          },
        );
      }
      const restoreId = newId("rst");
      const job = this.jobs.enqueueJob({
        deployment,
        kind: "restore",
        trigger: "manual",
        backupId: backup.id,
        restoreId,
        eventBody: { backup: backup.id },
      });
      const row: RestoreRow = {
        id: restoreId,
        tenant_id: deployment.tenant_id,
        deployment_id: deployment.id,
        requested_backup: input.backup_id,
        backup_id: backup.id,
        target: input.target ?? null,
        verify,
        force: force ? 1 : 0,
        job_id: job.id,
        status: "QUEUED",
        created_at: job.created_at,
        started_at: null,
        ended_at: null,
      };
      this.stores.restores.insert(row);
      this.stores.auditLog.append({
        tenantId: deployment.tenant_id,
        actor: actorOf(call.principal),
        action: "restores.create",
        subject: { deployment: deployment.id, restore: restoreId, backup: backup.id, job: job.id },
        details: {
          requested_backup: input.backup_id,
          sequence: backup.sequence,
          target: row.target,
          verify,
          force,
        },
        requestId: call.requestId,
      });
      return presentRestore(row);
    })();
  }

  get(call: Call, deploymentRef: string, restoreId: string): RestoreView {
    const deployment = deploymentOf(this.stores, call, deploymentRef);
    const row = this.stores.restores.byId(restoreId, deployment.id);
    if (!row) {
      throw new ApiError(
        404,
        "resource.not_found",
        `No restore ${restoreId} of ${deployment.name}.`,
        {
          subject: { deployment: deployment.id, restore: restoreId },
        },
      );
    }
    return presentRestore(row);
  }

  /** `latest` is the newest COMPLETED backup that is not tombstoned. */
  private backupFor(deployment: DeploymentRow, requested: string): BackupRow {
    if (requested === "latest") {
      const latest = this.stores.backups.latestCompleted(deployment.id);
      if (!latest) {
        throw refusal(`${deployment.name} has no COMPLETED backup to restore.`, deployment, {
          human: "Take a backup first, then restore it.",
          command: `stowage backups take ${deployment.name} --follow`,
        });
      }
      return latest;
    }
    const backup = this.stores.backups.byId(requested, deployment.id);
    if (!backup) {
      throw new ApiError(
        404,
        "resource.not_found",
        `No backup ${requested} of ${deployment.name}.`,
        {
          subject: { deployment: deployment.id, backup: requested },
        },
      );
    }
    return backup;
  }

  private preflight(
    deployment: DeploymentRow,
    backup: BackupRow,
    request: { verify: string; force: boolean; target?: string },
  ): void {
    const listCompleted = `stowage backups list ${deployment.name} --state COMPLETED`;
    if (backup.deleted_at) {
      throw refusal(`Backup ${backup.id} is tombstoned.`, deployment, {
        human: "Restore another backup, or `latest`.",
        command: listCompleted,
      });
    }
    if (backup.state !== "COMPLETED") {
      throw refusal(
        `Backup ${backup.id} is ${backup.state}: only a COMPLETED backup can be restored.`,
        deployment,
        { human: "Restore a COMPLETED backup, or `latest`.", command: listCompleted },
      );
    }
    if (request.verify === "require" && !backup.sha256) {
      throw refusal(
        `Backup ${backup.id} has no SHA-256 to verify against (verify: require).`,
        deployment,
        { human: "Restore it with verify: auto or skip, or restore another backup." },
      );
    }
    if (request.target === undefined && !request.force) {
      throw refusal(
        `Restoring in place overwrites ${deployment.name}'s current data, which is not empty.`,
        deployment,
        {
          human: "Name an empty target to restore into, or pass force: true to overwrite.",
          command: `stowage restore ${deployment.name} ${backup.id} --target <name>`,
        },
      );
    }
    const driver = settingsFromRow(deployment).driver;
    if (driver.type !== "pull") return;
    const agent = this.stores.agents.byId(driver.agent_id, deployment.tenant_id);
    if (!agent || agent.revoked_at) {
      throw refusal(`The deployment's agent ${driver.agent_id} is revoked.`, deployment, {
        human: "Enroll an agent and point the deployment's driver at it.",
        command: "stowage enrollments create",
      });
    }
    const seen = agent.last_seen_at ? Date.parse(agent.last_seen_at) : undefined;
    if (seen === undefined || Date.now() - seen > this.jobs.settings.agentOfflineAfterMs) {
      throw refusal(
        `The deployment's agent ${agent.name} is offline (last seen ${agent.last_seen_at ?? "never"}).`,
        deployment,
        {
          human: `Start the agent (stowage-agent run on ${agent.hostname ?? agent.name}), then retry.`,
          command: `stowage agents get ${agent.id}`,
        },
      );
    }
  }
}

function refusal(
  message: string,
  deployment: DeploymentRow,
  suggestion: { human: string; command?: string },
): ApiError {
  return new ApiError(412, "precondition.failed", message, {
    subject: { deployment: deployment.id },
    suggestion,
  });
}

export function presentRestore(row: RestoreRow): RestoreView {
  return {
    id: row.id,
    deployment_id: row.deployment_id,
    requested_backup: row.requested_backup,
    backup_id: row.backup_id,
    target: row.target,
    verify: row.verify,
    force: row.force === 1,
    job_id: row.job_id,
    status: row.status,
    created_at: row.created_at,
    started_at: row.started_at,
    ended_at: row.ended_at,
  };
}
