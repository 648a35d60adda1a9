import { Cron } from "croner";
import type { components } from "@stowage/control-server";
import type { DeploymentRow, DeploymentSettingsRow } from "../store/deployments-store";
import { canonicalJson } from "./canonical-json";
import { hasCredentialsInUrl, pickDefined, secretDigest } from "./secret-fields";

type Schemas = components["schemas"];
export type DeploymentKind = Schemas["DeploymentKind"];
export type DeploymentView = Schemas["Deployment"];
/** A schedule with its defaults applied, as stored and answered. */
export type Schedule = Required<Schemas["Schedule"]>;
type ConnectionInput = Schemas["Connection"];
type DriverInput = Schemas["DriverInput"];

/** The `connection` column: every member but the password (which is in `secrets`). */
export type StoredConnection = Omit<ConnectionInput, "password">;

/** The `driver` column: the driver without its Basic password (which is in `secrets`). */
export type StoredDriver =
  | { type: "pull"; agent_id: string }
  | { type: "script-agent"; url: string; username: string }
  | { type: "zeebe"; url: string; username: string | null };

/**
 * The `secrets` column: the write-only values, by where the API takes them. The agent config
 * renderer and the drivers read it; nothing else may put it in an answer, a log or an event.
 */
export interface DeploymentSecrets {
  connection?: { password?: string };
  driver?: { password?: string };
}

/** A deployment's settings without its identity, timestamps or secrets: what PATCH merges into. */
export interface DeploymentSettings {
  description: string | null;
  kind: DeploymentKind;
  connection: StoredConnection;
  driver: StoredDriver;
  schedules: Schedule[];
  target_ids: string[];
  retention: Schemas["RetentionPolicy"];
  compression: "gzip" | "none";
  encryption: Schemas["Encryption"] | null;
  scripts: Schemas["Scripts"];
  paused: boolean;
}

export interface ProblemDetail {
  path: string;
  message: string;
}

const CONNECTION_FIELDS = [
  "host",
  "port",
  "username",
  "databases",
  "exclude",
  "path",
  "paths",
] as const;
const RETENTION_FIELDS = ["keep_last", "keep_daily", "keep_weekly", "keep_monthly"] as const;
const SCRIPT_FIELDS = ["pre", "post", "pre_restore", "post_restore"] as const;

/** Which connection members each kind reads; `password` is the write-only one. */
const CONNECTION_MEMBERS: Record<DeploymentKind, readonly string[]> = {
  mysql: ["host", "port", "username", "password", "databases", "exclude"],
  postgres: ["host", "port", "username", "password", "databases", "exclude"],
  sqlite: ["path"],
  files: ["paths", "exclude"],
  zeebe: [],
};
const DEFAULT_PORT: Partial<Record<DeploymentKind, number>> = { mysql: 3306, postgres: 5432 };

/** The drivers each kind can run on (DriverInput's description). */
const DRIVERS_FOR_KIND: Record<DeploymentKind, readonly StoredDriver["type"][]> = {
  mysql: ["pull", "script-agent"],
  postgres: ["pull", "script-agent"],
  sqlite: ["pull"],
  files: ["pull"],
  zeebe: ["zeebe"],
};

export function normalizeConnection(
  kind: DeploymentKind,
  input: ConnectionInput | undefined,
  stored: StoredConnection = {},
): { connection: StoredConnection; password?: string } {
  const connection: StoredConnection = {
    ...stored,
    ...(pickDefined(input, CONNECTION_FIELDS) as StoredConnection),
  };
  // Filled in so `{ host }` and `{ host, port: 3306 }` are the same settings to idempotent create.
  const port = DEFAULT_PORT[kind];
  if (port !== undefined && connection.host !== undefined) connection.port ??= port;
  return { connection, password: input?.password };
}

export function normalizeDriver(input: DriverInput): { driver: StoredDriver; password?: string } {
  switch (input.type) {
    case "pull":
      return { driver: { type: "pull", agent_id: input.agent_id } };
    case "script-agent":
      return {
        driver: { type: "script-agent", url: input.url, username: input.username },
        password: input.password,
      };
    case "zeebe":
      return {
        driver: { type: "zeebe", url: input.url, username: input.username ?? null },
        password: input.password,
      };
  }
}

export function normalizeSchedules(input: Schemas["Schedule"][] | undefined): Schedule[] {
  return (input ?? []).map((schedule) => ({
    cron: schedule.cron,
    time_zone: schedule.time_zone ?? "UTC",
    level: schedule.level ?? "full",
  }));
}

export function normalizeRetention(
  input: Schemas["RetentionPolicy"] | undefined,
): Schemas["RetentionPolicy"] {
  return pickDefined(input, RETENTION_FIELDS) as Schemas["RetentionPolicy"];
}

export function normalizeScripts(input: Schemas["Scripts"] | undefined): Schemas["Scripts"] {
  return pickDefined(input, SCRIPT_FIELDS) as Schemas["Scripts"];
}

export function normalizeEncryption(
  input: Schemas["Encryption"] | null | undefined,
): Schemas["Encryption"] | null {
  return input ? { algorithm: input.algorithm, key_ref: input.key_ref } : null;
}

/** Only the secrets that are set, so `{}` means none and the column never holds `undefined`s. */
export function secretsOf(connectionPassword?: string, driverPassword?: string): DeploymentSecrets {
  const secrets: DeploymentSecrets = {};
  if (connectionPassword !== undefined) secrets.connection = { password: connectionPassword };
  if (driverPassword !== undefined) secrets.driver = { password: driverPassword };
  return secrets;
}

/** The secrets by their paths in the API, for audit entries (names, never values). */
export function secretNames(secrets: DeploymentSecrets): string[] {
  const names: string[] = [];
  if (secrets.connection?.password !== undefined) names.push("connection.password");
  if (secrets.driver?.password !== undefined) names.push("driver.password");
  return names;
}

/** Settings and secrets in one comparable string; secrets enter it as SHA-256 digests. */
export function settingsFingerprint(
  settings: DeploymentSettings,
  secrets: DeploymentSecrets,
): string {
  return canonicalJson({
    settings,
    secrets: {
      connection_password: secretDigest(secrets.connection?.password),
      driver_password: secretDigest(secrets.driver?.password),
    },
  });
}

/** Top-level members (and secret paths) whose values differ; names only. */
export function changedFields(
  before: { settings: DeploymentSettings; secrets: DeploymentSecrets },
  after: { settings: DeploymentSettings; secrets: DeploymentSecrets },
): string[] {
  const keys = Object.keys(after.settings) as (keyof DeploymentSettings)[];
  const changed: string[] = keys.filter(
    (key) => canonicalJson(before.settings[key]) !== canonicalJson(after.settings[key]),
  );
  if (
    secretDigest(before.secrets.connection?.password) !==
    secretDigest(after.secrets.connection?.password)
  )
    changed.push("connection.password");
  if (
    secretDigest(before.secrets.driver?.password) !== secretDigest(after.secrets.driver?.password)
  )
    changed.push("driver.password");
  return changed;
}

export function settingsFromRow(row: DeploymentRow): DeploymentSettings {
  return {
    description: row.description,
    kind: row.kind as DeploymentKind,
    connection: JSON.parse(row.connection) as StoredConnection,
    driver: JSON.parse(row.driver) as StoredDriver,
    schedules: JSON.parse(row.schedules) as Schedule[],
    target_ids: JSON.parse(row.target_ids) as string[],
    retention: JSON.parse(row.retention) as Schemas["RetentionPolicy"],
    compression: row.compression as DeploymentSettings["compression"],
    encryption: row.encryption ? (JSON.parse(row.encryption) as Schemas["Encryption"]) : null,
    scripts: JSON.parse(row.scripts) as Schemas["Scripts"],
    paused: row.paused !== 0,
  };
}

export function secretsFromRow(row: DeploymentRow): DeploymentSecrets {
  return JSON.parse(row.secrets) as DeploymentSecrets;
}

/** The settings columns of a row (identity and timestamps are the caller's). */
export function settingsColumns(
  settings: DeploymentSettings,
  secrets: DeploymentSecrets,
): Omit<DeploymentSettingsRow, "id" | "tenant_id" | "name" | "created_at" | "updated_at"> {
  return {
    description: settings.description,
    kind: settings.kind,
    connection: JSON.stringify(settings.connection),
    secrets: JSON.stringify(secrets),
    driver: JSON.stringify(settings.driver),
    agent_id: settings.driver.type === "pull" ? settings.driver.agent_id : null,
    schedules: JSON.stringify(settings.schedules),
    target_ids: JSON.stringify(settings.target_ids),
    retention: JSON.stringify(settings.retention),
    compression: settings.compression,
    encryption: settings.encryption ? JSON.stringify(settings.encryption) : null,
    scripts: JSON.stringify(settings.scripts),
    paused: settings.paused ? 1 : 0,
  };
}

/**
 * The cron job a schedule describes, never started. Five fields (or a macro) read in the
 * schedule's time zone; throws on an invalid expression or time zone. The scheduler should build
 * its jobs here too, so a schedule accepted by the API is the one that runs.
 */
export function cronOf(schedule: Schedule): Cron {
  return new Cron(schedule.cron, { timezone: schedule.time_zone, mode: "5-part", paused: true });
}

/** The next slot of any schedule after `now`; `null` when paused or without schedules. */
export function nextRunAt(settings: DeploymentSettings, now = new Date()): string | null {
  if (settings.paused) return null;
  let next: Date | null = null;
  for (const schedule of settings.schedules) {
    let candidate: Date | null;
    try {
      candidate = cronOf(schedule).nextRun(now);
    } catch {
      // Accepted when stored; a later time zone database may no longer know the zone. Reading
      // the deployment must not fail for it: the schedule just has no next slot.
      candidate = null;
    }
    if (candidate && (!next || candidate < next)) next = candidate;
  }
  return next ? next.toISOString() : null;
}

export function isTimeZone(name: string): boolean {
  try {
    // Throws a RangeError for a name the runtime's IANA database does not know.
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export interface RuleLookups {
  /** The caller's tenant's targets among `target_ids`, by id. */
  targets: ReadonlyMap<string, string>;
  /** Whether the tenant has the agent, not revoked; `undefined` when the store cannot tell. */
  agentExists: (agentId: string) => boolean | undefined;
}

/**
 * The rules a schema cannot express (createDeployment's description), checked on the whole
 * deployment after a create's defaults or a patch's merge. Every problem is reported at once.
 */
export function deploymentProblems(
  settings: DeploymentSettings,
  secrets: DeploymentSecrets,
  lookups: RuleLookups,
): ProblemDetail[] {
  const problems: ProblemDetail[] = [];
  const { kind, driver, connection } = settings;

  if (!DRIVERS_FOR_KIND[kind].includes(driver.type)) {
    problems.push({
      path: "/body/driver/type",
      message: `a ${kind} deployment runs on ${DRIVERS_FOR_KIND[kind].join(" or ")}, not ${driver.type}`,
    });
  }

  const members = CONNECTION_MEMBERS[kind];
  const given = [
    ...Object.keys(connection),
    ...(secrets.connection?.password !== undefined ? ["password"] : []),
  ];
  for (const member of given) {
    if (!members.includes(member))
      problems.push({
        path: `/body/connection/${member}`,
        message: `does not apply to a ${kind} deployment`,
      });
  }
  const required =
    kind === "mysql" || kind === "postgres"
      ? "host"
      : kind === "sqlite"
        ? "path"
        : kind === "files"
          ? "paths"
          : undefined;
  if (required === "paths" ? !connection.paths?.length : required && !connection[required]) {
    problems.push({
      path: `/body/connection/${required}`,
      message: `is required for a ${kind} deployment`,
    });
  }

  if (driver.type === "pull" && lookups.agentExists(driver.agent_id) === false) {
    problems.push({
      path: "/body/driver/agent_id",
      message: `names no active agent of this tenant: ${driver.agent_id}`,
    });
  }
  if (driver.type !== "pull") {
    if (hasCredentialsInUrl(driver.url))
      problems.push({
        path: "/body/driver/url",
        message: "must not carry credentials (user:password@); use username and password",
      });
    const hasPassword = secrets.driver?.password !== undefined;
    if (driver.type === "script-agent" && !hasPassword)
      problems.push({
        path: "/body/driver/password",
        message: "is required for a script-agent driver (HTTP Basic)",
      });
    if (driver.type === "zeebe" && hasPassword && !driver.username)
      problems.push({
        path: "/body/driver/username",
        message: "is required with a password (HTTP Basic)",
      });
    if (Object.keys(settings.scripts).length > 0)
      problems.push({
        path: "/body/scripts",
        message: `hook scripts run on a pull agent's host; a ${driver.type} driver cannot run them`,
      });
  }
  if (driver.type === "script-agent") problems.push(...scriptAgentProblems(settings, lookups));

  if (driver.type !== "zeebe" && settings.target_ids.length === 0) {
    problems.push({
      path: "/body/target_ids",
      message: `needs at least one target for a ${driver.type} driver`,
    });
  }
  const seen = new Set<string>();
  settings.target_ids.forEach((id, index) => {
    if (seen.has(id))
      problems.push({ path: `/body/target_ids/${index}`, message: `lists ${id} twice` });
    else if (!lookups.targets.has(id))
      problems.push({
        path: `/body/target_ids/${index}`,
        message: `names no target of this tenant: ${id}`,
      });
    seen.add(id);
  });

  settings.schedules.forEach((schedule, index) => {
    if (!isTimeZone(schedule.time_zone)) {
      problems.push({
        path: `/body/schedules/${index}/time_zone`,
        message: `is not a known IANA time zone: ${schedule.time_zone}`,
      });
      return;
    }
    try {
      if (cronOf(schedule).nextRun() === null)
        problems.push({
          path: `/body/schedules/${index}/cron`,
          message: `never matches a date: ${schedule.cron}`,
        });
    } catch (error) {
      problems.push({
        path: `/body/schedules/${index}/cron`,
        message: `is not a valid cron expression (${(error as Error).message})`,
      });
    }
  });
  return problems;
}

/**
 * What a script agent's `POST /backup` needs that the deployment schema leaves optional
 * (`compat/script-agent.yaml`): an S3 or Swift destination, an `encryption_key`, one database.
 * Refused here so the deployment does not fail its first job; the driver checks them again at
 * run time (script-agent-request.ts), where a changed target or key would show.
 */
function scriptAgentProblems(settings: DeploymentSettings, lookups: RuleLookups): ProblemDetail[] {
  const problems: ProblemDetail[] = [];
  const types = settings.target_ids.flatMap((id) => lookups.targets.get(id) ?? []);
  // An empty list and unknown ids have their own problems; only known types are judged here.
  if (types.length > 0 && !types.some((type) => type === "s3" || type === "swift")) {
    problems.push({
      path: "/body/target_ids",
      message: `needs an s3 or swift target for a script-agent driver (it uploads to those only), not only ${[...new Set(types)].join(", ")}`,
    });
  }
  if (!settings.encryption) {
    problems.push({
      path: "/body/encryption",
      message:
        "is required for a script-agent driver (the script agent API takes an encryption key)",
    });
  }
  const databases = settings.connection.databases ?? [];
  if (databases.length !== 1) {
    problems.push({
      path: "/body/connection/databases",
      message: `must name exactly one database for a script-agent driver (one per backup), not ${databases.length}`,
    });
  }
  return problems;
}

export function presentDeployment(row: DeploymentRow, now = new Date()): DeploymentView {
  const settings = settingsFromRow(row);
  const secrets = secretsFromRow(row);
  const { driver } = settings;
  const driverPasswordSet = secrets.driver?.password !== undefined;
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    description: settings.description,
    kind: settings.kind,
    connection:
      settings.kind === "mysql" || settings.kind === "postgres"
        ? { ...settings.connection, password_set: secrets.connection?.password !== undefined }
        : settings.connection,
    driver: driver.type === "pull" ? driver : { ...driver, password_set: driverPasswordSet },
    schedules: settings.schedules,
    target_ids: settings.target_ids,
    retention: settings.retention,
    compression: settings.compression,
    encryption: settings.encryption,
    scripts: settings.scripts,
    paused: settings.paused,
    next_run_at: nextRunAt(settings, now),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
