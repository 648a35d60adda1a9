import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { TargetRow } from "../store/targets-store";
import type { CallContext, Stores } from "./control-context";
import { newId, nowIso } from "./identifiers";
import { pageRequest, toPage } from "./pagination";
import { deleteOrConflict } from "./delete-or-conflict";
import { actorOf, type OperatorPrincipal } from "./principal";
import { hasCredentialsInUrl, pickDefined, secretDigest } from "./secret-fields";

type Call = CallContext<OperatorPrincipal>;
type Schemas = components["schemas"];
export type TargetView = Schemas["Target"];
export type TargetType = TargetView["type"];
type TargetCreate = Schemas["TargetCreate"];
type TargetUpdate = Schemas["TargetUpdate"];

/** The `settings` column: a target's members but its secret, as given (all types in one shape). */
export interface TargetSettings {
  url: string;
  region?: string;
  endpoint?: string;
  path_style?: boolean;
  access_key_id?: string;
  domain?: string;
  username?: string;
  auth_url?: string;
  project_name?: string;
}

/** The `secrets` column: the one write-only member of the target's type, when set. */
export interface TargetSecrets {
  secret_access_key?: string;
  password?: string;
}

const SETTINGS_FIELDS: Record<TargetType, readonly (keyof TargetSettings)[]> = {
  file: ["url"],
  s3: ["url", "region", "endpoint", "path_style", "access_key_id"],
  smb: ["url", "domain", "username"],
  swift: ["url", "auth_url", "region", "domain", "project_name", "username"],
};

const SECRET_FIELD: Record<TargetType, keyof TargetSecrets | undefined> = {
  file: undefined,
  s3: "secret_access_key",
  smb: "password",
  swift: "password",
};

/** Members whose URL a client could put credentials in; they go in the write-only fields. */
const URL_FIELDS = ["url", "endpoint", "auth_url"] as const;

export class TargetsService {
  constructor(private readonly stores: Stores) {}

  create(call: Call, input: TargetCreate): TargetView {
    const fields: Readonly<Record<string, unknown>> = input;
    const settings = settingsOf(input.type, fields);
    if (input.type === "s3") settings.path_style ??= false;
    const secrets = secretsOf(input.type, fields);
    refuseCredentialsInUrls(settings);
    return this.stores.db.transaction(() => {
      const tenantId = call.principal.tenantId;
      if (this.stores.targets.byName(tenantId, input.name)) {
        throw new ApiError(409, "resource.conflict", `A target named ${input.name} exists.`, {
          subject: { target: input.name },
        });
      }
      const at = nowIso();
      const row: TargetRow = {
        id: newId("tgt"),
        tenant_id: tenantId,
        name: input.name,
        type: input.type,
        description: input.description ?? null,
        settings: JSON.stringify(settings),
        secrets: JSON.stringify(secrets),
        created_at: at,
        updated_at: at,
      };
      this.stores.targets.insert(row);
      this.stores.auditLog.append({
        tenantId,
        actor: actorOf(call.principal),
        action: "targets.create",
        subject: { target: row.id },
        // Secrets by name only: the audit log is readable by audit:read.
        details: { name: row.name, type: row.type, secrets_set: Object.keys(secrets) },
        requestId: call.requestId,
      });
      return present(row);
    })();
  }

  list(call: Call, query: { limit?: number; marker?: string }) {
    const request = pageRequest(query);
    const rows = this.stores.targets.page(
      call.principal.tenantId,
      request.after ?? "",
      request.limit + 1,
    );
    const page = toPage(rows, request, (row) => row.name);
    return { items: page.items.map(present), next_marker: page.next_marker };
  }

  get(call: Call, id: string): TargetView {
    return present(this.row(call, id));
  }

  update(call: Call, id: string, patch: TargetUpdate): TargetView {
    return this.stores.db.transaction(() => {
      const row = this.row(call, id);
      const type = row.type as TargetType;
      if (patch.type !== type) {
        throw new ApiError(
          409,
          "resource.conflict",
          `Target ${id} is of type ${type}; its type cannot change to ${patch.type}.`,
          {
            subject: { target: id },
            suggestion: {
              human: "Create a new target of the other type and point deployments at it.",
            },
          },
        );
      }
      const fields: Readonly<Record<string, unknown>> = patch;
      const before = JSON.parse(row.settings) as TargetSettings;
      const settings: TargetSettings = { ...before, ...settingsOf(type, fields) };
      const beforeSecrets = JSON.parse(row.secrets) as TargetSecrets;
      const secrets: TargetSecrets = { ...beforeSecrets, ...secretsOf(type, fields) };
      refuseCredentialsInUrls(settings);
      const name = patch.name ?? row.name;
      const description = patch.description === undefined ? row.description : patch.description;

      const changed: string[] = [];
      if (name !== row.name) changed.push("name");
      if (description !== row.description) changed.push("description");
      for (const key of SETTINGS_FIELDS[type]) if (settings[key] !== before[key]) changed.push(key);
      const secretField = SECRET_FIELD[type];
      if (
        secretField &&
        secretDigest(secrets[secretField]) !== secretDigest(beforeSecrets[secretField])
      )
        changed.push(secretField);
      // A patch that changes nothing writes nothing: no new updated_at, no audit entry.
      if (changed.length === 0) return present(row);

      if (name !== row.name && this.stores.targets.byName(row.tenant_id, name)) {
        throw new ApiError(409, "resource.conflict", `A target named ${name} exists.`, {
          subject: { target: name },
        });
      }
      const updated: TargetRow = {
        ...row,
        name,
        description,
        settings: JSON.stringify(settings),
        secrets: JSON.stringify(secrets),
        updated_at: nowIso(),
      };
      this.stores.targets.update(updated);
      this.stores.auditLog.append({
        tenantId: row.tenant_id,
        actor: actorOf(call.principal),
        action: "targets.update",
        subject: { target: row.id },
        details: { name, changed },
        requestId: call.requestId,
      });
      return present(updated);
    })();
  }

  delete(call: Call, id: string): void {
    this.stores.db.transaction(() => {
      const row = this.row(call, id);
      const users = this.stores.targets.usedBy(row.tenant_id, row.id);
      if (users.length > 0) {
        throw new ApiError(
          409,
          "resource.conflict",
          `Target ${id} is used by deployments: ${users.join(", ")}.`,
          {
            subject: { target: id },
            suggestion: {
              human: "Remove the target from those deployments' target_ids first.",
            },
          },
        );
      }
      deleteOrConflict(() => this.stores.targets.delete(row.id, row.tenant_id), { target: id });
      this.stores.auditLog.append({
        tenantId: row.tenant_id,
        actor: actorOf(call.principal),
        action: "targets.delete",
        subject: { target: row.id },
        details: { name: row.name, type: row.type },
        requestId: call.requestId,
      });
    })();
  }

  private row(call: Call, id: string): TargetRow {
    // Another tenant's target is 404, never 403: its existence is not the caller's business.
    const row = this.stores.targets.byId(id, call.principal.tenantId);
    if (!row)
      throw new ApiError(404, "resource.not_found", `No target ${id}.`, {
        subject: { target: id },
      });
    return row;
  }
}

function settingsOf(type: TargetType, fields: Readonly<Record<string, unknown>>): TargetSettings {
  return pickDefined(fields, SETTINGS_FIELDS[type]) as Partial<TargetSettings> as TargetSettings;
}

function secretsOf(type: TargetType, fields: Readonly<Record<string, unknown>>): TargetSecrets {
  const field = SECRET_FIELD[type];
  return field ? (pickDefined(fields, [field]) as TargetSecrets) : {};
}

function refuseCredentialsInUrls(settings: TargetSettings): void {
  const details = URL_FIELDS.filter((key) => {
    const value = settings[key];
    return value !== undefined && hasCredentialsInUrl(value);
  }).map((key) => ({
    path: `/body/${key}`,
    message: "must not carry credentials (user:password@): they would be shown and logged",
  }));
  if (details.length > 0) {
    throw new ApiError(400, "request.invalid", "A URL carries credentials.", {
      details,
      suggestion: { human: "Put the user in `username` and the secret in its write-only field." },
    });
  }
}

function present(row: TargetRow): TargetView {
  const settings = JSON.parse(row.settings) as TargetSettings;
  const secrets = JSON.parse(row.secrets) as TargetSecrets;
  const base = {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
  // Members left undefined are absent from the JSON answer.
  const type = row.type as TargetType;
  switch (type) {
    case "file":
      return { ...base, type, url: settings.url };
    case "s3":
      return {
        ...base,
        type,
        url: settings.url,
        region: settings.region,
        endpoint: settings.endpoint,
        path_style: settings.path_style ?? false,
        access_key_id: settings.access_key_id,
        secret_access_key_set: secrets.secret_access_key !== undefined,
      };
    case "smb":
      return {
        ...base,
        type,
        url: settings.url,
        domain: settings.domain,
        username: settings.username,
        password_set: secrets.password !== undefined,
      };
    case "swift":
      return {
        ...base,
        type,
        url: settings.url,
        auth_url: settings.auth_url,
        region: settings.region,
        domain: settings.domain,
        project_name: settings.project_name,
        username: settings.username,
        password_set: secrets.password !== undefined,
      };
  }
}
