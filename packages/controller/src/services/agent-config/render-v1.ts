import type { components } from "@stowage/agent-server";
import type { AgentConfigInputs, DeploymentInput, TargetInput } from "./agent-config-inputs";
import { refuseUnlessV1Expressible, v1Retention } from "./v1-refusals";

type Schemas = components["schemas"];
export type ConfigV1Document = Schemas["ConfigLocal"];
type LocalSpec = Schemas["LocalSpec"];

export interface ConfigV1Context {
  /** Where the agent sends OTLP traces; absent when this controller takes no reports. */
  telemetry?: { url: string; certificates: string[]; credentials?: string };
}

/**
 * The databacker `kind: local` document mysql-backup runs from, or the 406 of
 * `refuseUnlessV1Expressible`. Objects are built member by member, so the same settings always
 * serialize to the same bytes (the `ETag` is a strong validator).
 */
export function renderConfigV1(
  inputs: AgentConfigInputs,
  context: ConfigV1Context,
): ConfigV1Document {
  refuseUnlessV1Expressible(inputs);
  const [deployment] = inputs.deployments;
  return {
    version: "config.databack.io/v1",
    kind: "local",
    metadata: deployment
      ? { name: deployment.name, description: deployment.description ?? undefined }
      : { name: inputs.agent.name },
    spec: {
      logging: "info",
      ...(deployment ? deploymentSpec(deployment) : {}),
      telemetry: context.telemetry,
    },
  };
}

function deploymentSpec(deployment: DeploymentInput): LocalSpec {
  const { settings, secrets } = deployment;
  const { connection, scripts } = settings;
  const username = connection.username;
  const password = secrets.connection?.password;
  const retention = v1Retention(settings.retention);
  return {
    database: {
      server: connection.host,
      port: connection.port,
      credentials:
        username === undefined && password === undefined ? undefined : { username, password },
    },
    dump: {
      include: connection.databases?.length ? connection.databases : undefined,
      exclude: connection.exclude?.length ? connection.exclude : undefined,
      // v1Problems let exactly one UTC schedule through.
      schedule: { cron: settings.schedules[0].cron },
      compression: settings.compression,
      targets: deployment.targets.map((target) => target.name),
      scripts:
        scripts.pre === undefined && scripts.post === undefined
          ? undefined
          : { preBackup: scripts.pre, postBackup: scripts.post },
    },
    prune: retention === undefined ? undefined : { retention },
    restore:
      scripts.pre_restore === undefined && scripts.post_restore === undefined
        ? undefined
        : { preRestore: scripts.pre_restore, postRestore: scripts.post_restore },
    targets: Object.fromEntries(
      deployment.targets.map((target) => [target.name, v1Target(target)]),
    ),
  };
}

/** Targets keep the control API's URL, which is databacker's own form. */
function v1Target(target: TargetInput): Schemas["Target"] {
  const { settings, secrets } = target;
  switch (target.type) {
    case "file":
      return { type: "file", url: settings.url };
    case "s3":
      return {
        type: "s3",
        url: settings.url,
        spec: {
          region: settings.region,
          endpoint: settings.endpoint,
          pathStyle: settings.path_style ?? false,
          accessKeyID: settings.access_key_id,
          secretAccessKey: secrets.secret_access_key,
        },
      };
    case "smb":
      return {
        type: "smb",
        url: settings.url,
        spec:
          settings.domain === undefined &&
          settings.username === undefined &&
          secrets.password === undefined
            ? undefined
            : { domain: settings.domain, username: settings.username, password: secrets.password },
      };
    case "swift":
      // v1Problems refuses swift before rendering starts.
      throw new Error(`swift target ${target.name} reached the v1 renderer`);
  }
}
