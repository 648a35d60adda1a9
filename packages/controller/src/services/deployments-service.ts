import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { DeploymentRow, DeploymentSettingsRow } from "../store/deployments-store";
import type { CallContext, Stores } from "./control-context";
import {
  changedFields,
  deploymentProblems,
  normalizeConnection,
  normalizeDriver,
  normalizeEncryption,
  normalizeRetention,
  normalizeScripts,
  normalizeSchedules,
  presentDeployment,
  secretNames,
  secretsFromRow,
  secretsOf,
  settingsColumns,
  settingsFingerprint,
  settingsFromRow,
  type DeploymentKind,
  type DeploymentSecrets,
  type DeploymentSettings,
  type DeploymentView,
} from "./deployment-settings";
import { deleteOrConflict } from "./delete-or-conflict";
import { newId, nowIso } from "./identifiers";
import { pageRequest, toPage } from "./pagination";
import { actorOf, type OperatorPrincipal } from "./principal";

type Call = CallContext<OperatorPrincipal>;
type Schemas = components["schemas"];

export class DeploymentsService {
  constructor(private readonly stores: Stores) {}

  /**
   * Idempotent on the name: an existing deployment with the same settings (secrets compared by
   * digest) is answered as it is (`created: false`); other settings under that name are a 409.
   */
  create(
    call: Call,
    input: Schemas["DeploymentCreate"],
  ): { created: boolean; deployment: DeploymentView } {
    const tenantId = call.principal.tenantId;
    const { connection, password: connectionPassword } = normalizeConnection(
      input.kind,
      input.connection,
    );
    const { driver, password: driverPassword } = normalizeDriver(input.driver);
    const settings: DeploymentSettings = {
      description: input.description ?? null,
      kind: input.kind,
      connection,
      driver,
      schedules: normalizeSchedules(input.schedules),
      target_ids: input.target_ids ?? [],
      retention: normalizeRetention(input.retention),
      compression: input.compression ?? "gzip",
      encryption: normalizeEncryption(input.encryption),
      scripts: normalizeScripts(input.scripts),
      paused: input.paused ?? false,
    };
    const secrets = secretsOf(connectionPassword, driverPassword);

    return this.stores.db.transaction(() => {
      const existing = this.stores.deployments.byName(tenantId, input.name);
      if (
        existing &&
        settingsFingerprint(settingsFromRow(existing), secretsFromRow(existing)) ===
          settingsFingerprint(settings, secrets)
      ) {
        return { created: false, deployment: presentDeployment(existing) };
      }
      this.check(tenantId, settings, secrets);
      if (existing) {
        const differing = changedFields(
          { settings: settingsFromRow(existing), secrets: secretsFromRow(existing) },
          { settings, secrets },
        );
        throw new ApiError(
          409,
          "resource.conflict",
          `A deployment named ${input.name} exists with other settings.`,
          {
            subject: { deployment: input.name },
            details: differing.map((field) => ({
              path: `/body/${field.replace(".", "/")}`,
              message: "differs from the existing deployment's",
            })),
            suggestion: {
              human: `Change the existing deployment with PATCH /v1/deployments/${input.name}, or choose another name.`,
            },
          },
        );
      }
      const at = nowIso();
      const row: DeploymentSettingsRow = {
        id: newId("dep"),
        tenant_id: tenantId,
        name: input.name,
        ...settingsColumns(settings, secrets),
        created_at: at,
        updated_at: at,
      };
      this.stores.deployments.insert(row);
      // A deleted deployment's backups belong to a later one of the same name (the spec's
      // deleteDeployment); its sequences carry on from theirs, never reusing one.
      const adopted = this.stores.backups.adoptOrphans(tenantId, row.name, row.id);
      if (adopted > 0) {
        this.stores.deployments.advanceLastSequence(
          row.id,
          this.stores.backups.maxSequence(row.id),
        );
      }
      this.stores.auditLog.append({
        tenantId,
        actor: actorOf(call.principal),
        action: "deployments.create",
        subject: { deployment: row.id },
        // Secrets by name only: the audit log is readable by audit:read.
        details: {
          name: row.name,
          kind: settings.kind,
          driver: settings.driver.type,
          target_ids: settings.target_ids,
          secrets_set: secretNames(secrets),
          ...(adopted > 0 ? { adopted_backups: adopted } : {}),
        },
        requestId: call.requestId,
      });
      return { created: true, deployment: presentDeployment(this.required(call, row.id)) };
    })();
  }

  list(call: Call, query: { limit?: number; marker?: string; kind?: DeploymentKind }) {
    const request = pageRequest(query);
    const rows = this.stores.deployments.page(
      call.principal.tenantId,
      request.after ?? "",
      request.limit + 1,
      query.kind,
    );
    const page = toPage(rows, request, (row) => row.name);
    const now = new Date();
    return {
      items: page.items.map((row) => presentDeployment(row, now)),
      next_marker: page.next_marker,
    };
  }

  get(call: Call, key: string): DeploymentView {
    return presentDeployment(this.required(call, key));
  }

  /**
   * A JSON merge patch: absent members keep their value, `null` clears a nullable one, given
   * arrays and objects replace the stored ones, except `connection`, which merges; an absent
   * secret keeps the stored one. The merged deployment is checked by the create rules.
   */
  update(call: Call, key: string, patch: Schemas["DeploymentUpdate"]): DeploymentView {
    return this.stores.db.transaction(() => {
      const row = this.required(call, key);
      const before = { settings: settingsFromRow(row), secrets: secretsFromRow(row) };
      const { kind } = before.settings;
      // `kind` is not in DeploymentUpdate, but a client may still send it.
      const patchedKind = (patch as Readonly<Record<string, unknown>>).kind;
      if (patchedKind !== undefined && patchedKind !== kind) {
        throw new ApiError(
          409,
          "resource.conflict",
          `Deployment ${row.name} is of kind ${kind}; its kind cannot change.`,
          {
            subject: { deployment: row.name },
            suggestion: { human: "Create a new deployment of the other kind." },
          },
        );
      }

      const settings: DeploymentSettings = { ...before.settings };
      let connectionPassword = before.secrets.connection?.password;
      let driverPassword = before.secrets.driver?.password;
      if (patch.description !== undefined) settings.description = patch.description;
      if (patch.connection !== undefined) {
        const merged = normalizeConnection(kind, patch.connection, before.settings.connection);
        settings.connection = merged.connection;
        connectionPassword = merged.password ?? connectionPassword;
      }
      if (patch.driver !== undefined) {
        const replaced = normalizeDriver(patch.driver);
        settings.driver = replaced.driver;
        // A stored Basic password belongs to the driver type it was given for.
        const keep =
          before.settings.driver.type === replaced.driver.type ? driverPassword : undefined;
        driverPassword = replaced.password ?? keep;
      }
      if (patch.schedules !== undefined) settings.schedules = normalizeSchedules(patch.schedules);
      if (patch.target_ids !== undefined) settings.target_ids = patch.target_ids;
      if (patch.retention !== undefined) settings.retention = normalizeRetention(patch.retention);
      if (patch.compression !== undefined) settings.compression = patch.compression;
      if (patch.encryption !== undefined)
        settings.encryption = normalizeEncryption(patch.encryption);
      if (patch.scripts !== undefined) settings.scripts = normalizeScripts(patch.scripts);
      if (patch.paused !== undefined) settings.paused = patch.paused;
      const secrets = secretsOf(connectionPassword, driverPassword);
      const name = patch.name ?? row.name;

      const changed = changedFields(before, { settings, secrets });
      if (name !== row.name) changed.unshift("name");
      // A patch that changes nothing writes nothing: no new updated_at, no audit entry.
      if (changed.length === 0) return presentDeployment(row);

      this.check(row.tenant_id, settings, secrets);
      if (name !== row.name && this.stores.deployments.byName(row.tenant_id, name)) {
        throw new ApiError(409, "resource.conflict", `A deployment named ${name} exists.`, {
          subject: { deployment: name },
        });
      }
      this.stores.deployments.updateSettings({
        id: row.id,
        tenant_id: row.tenant_id,
        name,
        ...settingsColumns(settings, secrets),
        created_at: row.created_at,
        updated_at: nowIso(),
      });
      this.stores.auditLog.append({
        tenantId: row.tenant_id,
        actor: actorOf(call.principal),
        action: "deployments.update",
        subject: { deployment: row.id },
        details: { name, changed },
        requestId: call.requestId,
      });
      return presentDeployment(this.required(call, row.id));
    })();
  }

  /**
   * Removes the deployment, refused while it has queued or running jobs. Its backups are
   * another part's records and survive it (the spec keeps them for a later deployment of the
   * same name); a table that still refers to the row through a restricting foreign key turns
   * the delete into a 409 rather than a 500.
   */
  delete(call: Call, key: string): void {
    this.stores.db.transaction(() => {
      const row = this.required(call, key);
      if (this.stores.deployments.hasActiveJobs(row.id)) {
        throw new ApiError(
          409,
          "resource.conflict",
          `Deployment ${row.name} has queued or running jobs.`,
          {
            subject: { deployment: row.name },
            suggestion: {
              human: "Cancel its jobs first, then delete it.",
              command: `stowage jobs list --deployment ${row.name}`,
            },
          },
        );
      }
      deleteOrConflict(() => this.stores.deployments.delete(row.id, row.tenant_id), {
        deployment: row.name,
      });
      this.stores.auditLog.append({
        tenantId: row.tenant_id,
        actor: actorOf(call.principal),
        action: "deployments.delete",
        subject: { deployment: row.id },
        details: { name: row.name, kind: row.kind },
        requestId: call.requestId,
      });
    })();
  }

  private check(tenantId: string, settings: DeploymentSettings, secrets: DeploymentSecrets): void {
    const problems = deploymentProblems(settings, secrets, {
      targets: this.stores.targets.existing(tenantId, settings.target_ids),
      agentExists: (agentId) => this.stores.deployments.agentExists(tenantId, agentId),
    });
    if (problems.length > 0) {
      throw new ApiError(400, "request.invalid", "The deployment breaks the deployment rules.", {
        details: problems,
      });
    }
  }

  private required(call: Call, key: string): DeploymentRow {
    // Another tenant's deployment is 404, never 403: its existence is not the caller's business.
    const row = this.stores.deployments.byIdOrName(call.principal.tenantId, key);
    if (!row)
      throw new ApiError(404, "resource.not_found", `No deployment ${key}.`, {
        subject: { deployment: key },
      });
    return row;
  }
}
