import { readFileSync } from "node:fs";
import type { components } from "@stowage/script-agent-client";
import type { DeploymentRow } from "../../store/deployments-store";
import type { TargetRow } from "../../store/targets-store";
import { secretsFromRow, settingsFromRow } from "../deployment-settings";
import type { TargetSecrets, TargetSettings } from "../targets-service";

export type BackupRequest = components["schemas"]["BackupRequest"];
type BackupDestination = components["schemas"]["BackupDestination"];

/** Why the driver cannot run a job: the job fails with this message, nothing is sent. */
export class DriverRefusal extends Error {}

/** The `POST /backup` body and the target it sends the backup to. */
export interface ScriptAgentBackup {
  request: BackupRequest;
  target: { id: string; url: string };
}

/**
 * The script agent's request for a backup job of the deployment. The remote job id is the
 * controller's job id, so a trigger repeated after a restart finds the running job (409) instead
 * of starting a second one.
 */
export function scriptAgentBackup(
  jobId: string,
  deployment: DeploymentRow,
  targets: readonly TargetRow[],
  env: NodeJS.ProcessEnv = process.env,
): ScriptAgentBackup {
  const settings = settingsFromRow(deployment);
  const secrets = secretsFromRow(deployment);
  // The agent uploads to S3 or Swift only; a file or smb target is the pull agents' business.
  const target = targets.find((candidate) => candidate.type === "s3" || candidate.type === "swift");
  if (!target) {
    throw new DriverRefusal(
      `A script agent stores backups in S3 or Swift; none of the job's targets is one (${targets.map((t) => `${t.name}: ${t.type}`).join(", ")}).`,
    );
  }
  if (!settings.encryption) {
    throw new DriverRefusal(
      "A script agent encrypts every backup (encryption_key is required): set the deployment's encryption.",
    );
  }
  const { connection } = settings;
  const databases = connection.databases ?? [];
  if (databases.length !== 1) {
    throw new DriverRefusal(
      `A script agent backs up one database per job; the deployment names ${databases.length} (connection.databases).`,
    );
  }
  const backup = {
    host: connection.host ?? "",
    username: connection.username ?? "",
    password: secrets.connection?.password ?? "",
    database: databases[0],
    ...(connection.port !== undefined ? { parameters: [{ port: connection.port }] } : {}),
  };
  requireSet({
    "connection.host": backup.host,
    "connection.username": backup.username,
    "connection.password": backup.password,
  });
  return {
    request: {
      id: jobId,
      compression: settings.compression === "gzip",
      encryption_key: resolveKeyRef(settings.encryption.key_ref, env),
      destination: destinationOf(target),
      backup,
    },
    target: { id: target.id, url: (JSON.parse(target.settings) as TargetSettings).url },
  };
}

/**
 * The key a `key_ref` names, read on the controller's host: a pull agent resolves the reference
 * on its own host, but a script agent takes the key itself in the request (`encryption_key`).
 */
export function resolveKeyRef(ref: string, env: NodeJS.ProcessEnv = process.env): string {
  let key: string | undefined;
  if (ref.startsWith("env:")) {
    key = env[ref.slice("env:".length)];
  } else if (ref.startsWith("file:")) {
    try {
      key = readFileSync(ref.slice("file:".length), "utf8");
    } catch (error) {
      throw new DriverRefusal(
        `The encryption key_ref ${ref} cannot be read on the controller's host (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
      );
    }
  }
  key = key?.trim();
  if (!key) {
    throw new DriverRefusal(
      `The encryption key_ref ${ref} names no key on the controller's host; a script-agent deployment's key is read there.`,
    );
  }
  return key;
}

function destinationOf(target: TargetRow): BackupDestination {
  const settings = JSON.parse(target.settings) as TargetSettings;
  const secrets = JSON.parse(target.secrets) as TargetSecrets;
  const { container, prefix } = splitUrl(settings.url);
  if (target.type === "s3") {
    const destination = {
      type: "S3" as const,
      bucket: container,
      authKey: settings.access_key_id ?? "",
      authSecret: secrets.secret_access_key ?? "",
      // Current agents want a prefix that ends with `/` (the spec's pattern), or none.
      filenamePrefix: prefix ? `${prefix.replace(/\/+$/, "")}/` : "",
      ...(settings.region !== undefined ? { region: settings.region } : {}),
      ...(settings.endpoint !== undefined
        ? { endpoint: settings.endpoint, skipSSL: settings.endpoint.startsWith("http:") }
        : {}),
    };
    requireSet({
      [`target ${target.name}: access_key_id`]: destination.authKey,
      [`target ${target.name}: secret_access_key`]: destination.authSecret,
    });
    return destination;
  }
  const destination = {
    type: "SWIFT" as const,
    container_name: container,
    authUrl: settings.auth_url ?? "",
    domain: settings.domain ?? "",
    project_name: settings.project_name ?? "",
    username: settings.username ?? "",
    password: secrets.password ?? "",
  };
  requireSet({
    [`target ${target.name}: auth_url`]: destination.authUrl,
    [`target ${target.name}: domain`]: destination.domain,
    [`target ${target.name}: project_name`]: destination.project_name,
    [`target ${target.name}: username`]: destination.username,
    [`target ${target.name}: password`]: destination.password,
  });
  return destination;
}

/** `s3://<bucket>/<prefix>` or `swift://<container>/<prefix>`. */
function splitUrl(url: string): { container: string; prefix: string } {
  const rest = url.replace(/^[a-z0-9+.-]+:\/\//i, "");
  const slash = rest.indexOf("/");
  return slash < 0
    ? { container: rest, prefix: "" }
    : { container: rest.slice(0, slash), prefix: rest.slice(slash + 1) };
}

/** The agent answers 400 for an empty required field; say which setting it comes from first. */
function requireSet(values: Record<string, string>): void {
  const missing = Object.keys(values).filter((name) => values[name] === "");
  if (missing.length > 0) {
    throw new DriverRefusal(`A script agent needs ${missing.join(", ")}: none is set.`);
  }
}
