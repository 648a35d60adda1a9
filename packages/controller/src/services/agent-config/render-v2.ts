import type { components } from "@stowage/agent-server";
import type { DeploymentSettings } from "../deployment-settings";
import type { AgentConfigInputs, DeploymentInput, TargetInput } from "./agent-config-inputs";
import { containerAndPrefix, fileTargetPath, smbLocation } from "./target-locations";

type Schemas = components["schemas"];
export type ConfigV2Document = Schemas["ConfigV2"];
/** The document but its `generated_at`, which stays as it was while this content does. */
export type ConfigV2Content = Omit<ConfigV2Document, "generated_at">;
type Deployment = Schemas["Deployment"];
type TargetV2 = Schemas["TargetV2"];

export interface ConfigV2Context {
  jobs: Schemas["JobPolling"];
}

/**
 * The stowage document: every deployment of the agent with everything its agent needs, secrets
 * included. Each object is built member by member, so the same settings always serialize to the
 * same bytes (the `ETag` is a strong validator).
 */
export function renderConfigV2(
  inputs: AgentConfigInputs,
  context: ConfigV2Context,
): ConfigV2Content {
  return {
    version: "config.stowage.io/v2",
    instance: inputs.agent.id,
    metadata: { name: inputs.agent.name },
    logging: "info",
    telemetry: { logs: true, events: true, traces: false },
    jobs: context.jobs,
    deployments: inputs.deployments.map(renderDeployment),
  };
}

function renderDeployment(deployment: DeploymentInput): Deployment {
  const { settings, secrets } = deployment;
  const common = {
    schedules: settings.schedules.map((schedule) => ({
      cron: schedule.cron,
      time_zone: schedule.time_zone,
      level: schedule.level,
    })),
    targets: deployment.targets.map(renderTarget),
    retention: {
      keep_last: settings.retention.keep_last,
      keep_daily: settings.retention.keep_daily,
      keep_weekly: settings.retention.keep_weekly,
      keep_monthly: settings.retention.keep_monthly,
    },
    compression: { algorithm: settings.compression },
    encryption: settings.encryption
      ? { algorithm: settings.encryption.algorithm, key_ref: settings.encryption.key_ref }
      : undefined,
    scripts: renderScripts(settings.scripts),
    paused: settings.paused,
  };
  const { connection } = settings;
  const name = deployment.name;
  switch (settings.kind) {
    case "mysql":
    case "postgres":
      return {
        name,
        kind: settings.kind,
        connection: {
          host: required(connection.host, deployment, "connection.host"),
          port: connection.port,
          username: connection.username,
          password: secrets.connection?.password,
          databases: databaseSelection(settings),
        },
        ...common,
      };
    case "sqlite":
      return {
        name,
        kind: "sqlite",
        connection: { path: required(connection.path, deployment, "connection.path") },
        ...common,
      };
    case "files":
      return {
        name,
        kind: "files",
        connection: {
          paths: required(connection.paths, deployment, "connection.paths"),
          exclude: connection.exclude,
        },
        ...common,
      };
    case "zeebe":
      // The control API runs kind zeebe on the zeebe driver only, which names no agent.
      throw new Error(`zeebe deployment ${name} is assigned to a pull agent`);
  }
}

function databaseSelection(settings: DeploymentSettings): Schemas["DatabaseSelection"] | undefined {
  const include = settings.connection.databases;
  const exclude = settings.connection.exclude;
  // The control API's "absent or empty: all" is v2's "absent: all".
  if (!include?.length && !exclude?.length) return undefined;
  return {
    include: include?.length ? include : undefined,
    exclude: exclude?.length ? exclude : undefined,
  };
}

/** The control API's one script (or directory) per hook is a list of one in v2. */
function renderScripts(scripts: DeploymentSettings["scripts"]): Schemas["Scripts"] | undefined {
  const rendered = {
    pre_backup: scripts.pre === undefined ? undefined : [scripts.pre],
    post_backup: scripts.post === undefined ? undefined : [scripts.post],
    pre_restore: scripts.pre_restore === undefined ? undefined : [scripts.pre_restore],
    post_restore: scripts.post_restore === undefined ? undefined : [scripts.post_restore],
  };
  return Object.values(rendered).some((value) => value !== undefined) ? rendered : undefined;
}

function renderTarget(target: TargetInput): TargetV2 {
  const { name, settings, secrets } = target;
  switch (target.type) {
    case "file":
      return { type: "file", name, path: fileTargetPath(settings.url) };
    case "s3": {
      const { container, prefix } = containerAndPrefix(settings.url);
      return {
        type: "s3",
        name,
        bucket: container,
        prefix,
        region: settings.region,
        endpoint: settings.endpoint,
        path_style: settings.path_style ?? false,
        access_key_id: settings.access_key_id,
        secret_access_key: secrets.secret_access_key,
      };
    }
    case "smb": {
      const location = smbLocation(settings.url);
      return {
        type: "smb",
        name,
        host: location.host,
        port: location.port,
        share: location.share,
        path: location.path,
        domain: settings.domain,
        username: settings.username,
        password: secrets.password,
      };
    }
    case "swift": {
      const { container, prefix } = containerAndPrefix(settings.url);
      return {
        type: "swift",
        name,
        auth_url: required(settings.auth_url, target, "auth_url"),
        container,
        prefix,
        region: settings.region,
        username: settings.username,
        password: secrets.password,
        project_name: settings.project_name,
        domain: settings.domain,
      };
    }
  }
}

/** A member the control API requires for this kind or type; missing means a broken store. */
function required<T>(value: T | undefined, owner: { name: string }, member: string): T {
  if (value === undefined) throw new Error(`${owner.name} has no ${member}`);
  return value;
}
