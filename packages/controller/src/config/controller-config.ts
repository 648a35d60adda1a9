import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import type { Clock } from "../services/clock";
import type { ZeebeDriverOptions } from "../services/drivers/zeebe-driver";

export interface ControllerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Defaults to `<dataDir>/stowage.db`. */
  database: string;
  logLevel: string;
  /** PEM files: HTTPS when both are given. */
  tlsCert?: string;
  tlsKey?: string;
  /** Validate every response against the spec (slower; for development and tests). */
  validateResponses: boolean;
  /** The URL agents and operators reach this controller at (behind a proxy, say); the listening URL otherwise. */
  publicUrl?: string;
  /** The agent API's telemetry routes: served here, turned off (410), or at another URL (301). */
  reporting: "here" | "off" | { url: string };
  /** How long the agent API's access tokens live. */
  accessTokenLifetimeSeconds: number;
  /** Token-endpoint calls a client may make per minute (after a burst of 10). */
  tokenRequestsPerMinute: number;
  /** The largest agent log submission (postLog body) accepted; larger is 413. */
  agentLogMaxBytes: number;
  /** Largest OTLP trace export an agent may post (as sent, and once inflated); beyond it 413. */
  agentTraceMaxBytes: number;
  /** How long shutdown waits for in-flight requests before closing them. */
  shutdownGraceMs: number;
  /** How long a claimed job stays its agent's without a progress report. */
  jobLeaseMs: number;
  /** Queued plus running jobs a deployment may have before takes are 429. */
  maxJobsPerDeployment: number;
  /** An agent not seen for this long is offline: for the doctor, restores (412) and `/metrics`. */
  agentOfflineAfterSeconds: number;
  /** Days events are kept (0: forever). */
  eventRetentionDays: number;
  /** Days a finished job's log lines are kept after it ended (0: forever). */
  logRetentionDays: number;
  /** Days audit entries are kept (0: forever); the chain stays verifiable. */
  auditRetentionDays: number;
  /** Days a finished job (its phases, lines and events) is kept after it ended (0: forever). */
  jobRetentionDays: number;
  /** How often the retention pass runs. */
  retentionIntervalMs: number;
  /** Rows the retention pass removes per transaction, per kind. */
  retentionBatchSize: number;
  /** A Zeebe backup's time limit, gateway outages included: past it its job fails. */
  zeebeBackupTimeoutMs: number;
  /**
   * The scheduler's and the doctor's time source. Not a setting (no flag or variable): tests
   * inject one to make slots come in milliseconds; the system clock otherwise.
   */
  clock?: Clock;
  /** The Zeebe driver's polling and delete retries. Not settings either: tests make them short. */
  zeebeDriver?: Pick<ZeebeDriverOptions, "pollIntervalMs" | "deleteRetryDelaysMs">;
}

/** Every setting: its flag, its `STOWAGE_*` variable and its config-file key are derived from `key`. */
export const SETTINGS = [
  { key: "host", flag: "--host <address>", help: "address to listen on", default: "127.0.0.1" },
  { key: "port", flag: "--port <number>", help: "port to listen on", default: "8080" },
  {
    key: "dataDir",
    flag: "--data-dir <dir>",
    help: "where the database and keys live",
    default: "data",
  },
  {
    key: "database",
    flag: "--database <file>",
    help: "SQLite file (default <data-dir>/stowage.db)",
  },
  {
    key: "logLevel",
    flag: "--log-level <level>",
    help: "trace, debug, info, warn, error",
    default: "info",
  },
  { key: "tlsCert", flag: "--tls-cert <file>", help: "PEM certificate: serve HTTPS" },
  { key: "tlsKey", flag: "--tls-key <file>", help: "PEM private key for --tls-cert" },
  {
    key: "validateResponses",
    flag: "--validate-responses <bool>",
    help: "check every response against the spec",
    default: "false",
  },
  {
    key: "publicUrl",
    flag: "--public-url <url>",
    help: "the URL agents reach this controller at (default: the listening URL)",
  },
  {
    key: "reporting",
    flag: "--reporting <here|off|url>",
    help: "agent telemetry routes: served here, off (410) or moved to url (301)",
    default: "here",
  },
  {
    key: "accessTokenLifetimeSeconds",
    flag: "--access-token-lifetime-seconds <s>",
    help: "lifetime of agent access tokens",
    default: "900",
  },
  {
    key: "tokenRequestsPerMinute",
    flag: "--token-requests-per-minute <n>",
    help: "token endpoint calls per agent per minute (bursts: 10 s worth, at least 10)",
    default: "30",
  },
  {
    key: "agentLogMaxBytes",
    flag: "--agent-log-max-bytes <bytes>",
    help: "largest agent log submission accepted (larger is 413)",
    default: String(10 * 1024 * 1024),
  },
  {
    key: "agentTraceMaxBytes",
    flag: "--agent-trace-max-bytes <n>",
    help: "largest OTLP trace export an agent may post",
    default: "4194304",
  },
  {
    key: "shutdownGraceMs",
    flag: "--shutdown-grace-ms <ms>",
    help: "how long shutdown waits for requests",
    default: "10000",
  },
  {
    key: "jobLeaseMs",
    flag: "--job-lease-ms <ms>",
    help: "how long a claimed job waits for its agent's next report",
    default: "90000",
  },
  {
    key: "maxJobsPerDeployment",
    flag: "--max-jobs-per-deployment <n>",
    help: "queued plus running jobs per deployment",
    default: "10",
  },
  {
    key: "agentOfflineAfterSeconds",
    flag: "--agent-offline-after-seconds <s>",
    help: "an agent not seen for this long is offline (doctor, restores, metrics)",
    default: "300",
  },
  {
    key: "eventRetentionDays",
    flag: "--event-retention-days <days>",
    help: "days events are kept (0 keeps them forever)",
    default: "90",
  },
  {
    key: "logRetentionDays",
    flag: "--log-retention-days <days>",
    help: "days a finished job's log lines are kept (0 keeps them forever)",
    default: "30",
  },
  {
    key: "auditRetentionDays",
    flag: "--audit-retention-days <days>",
    help: "days audit entries are kept (0 keeps them forever)",
    default: "365",
  },
  {
    key: "jobRetentionDays",
    flag: "--job-retention-days <days>",
    help: "days a finished job is kept, with its events and logs (0 keeps them forever)",
    default: "90",
  },
  {
    key: "retentionIntervalMs",
    flag: "--retention-interval-ms <ms>",
    help: "how often old history is pruned",
    default: "600000",
  },
  {
    key: "retentionBatchSize",
    flag: "--retention-batch-size <rows>",
    help: "rows pruned per transaction",
    default: "1000",
  },
  {
    key: "zeebeBackupTimeoutMs",
    flag: "--zeebe-backup-timeout-ms <ms>",
    help: "how long a Zeebe backup may run (or its gateway stay unreachable) before its job fails",
    default: String(6 * 3_600_000),
  },
] as const;

type Key = (typeof SETTINGS)[number]["key"];
type Raw = Partial<Record<Key, string>>;

export function envName(key: string): string {
  return `STOWAGE_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/**
 * Flags, then `STOWAGE_*` environment, then the config file (`--config` or `STOWAGE_CONFIG`, YAML or
 * JSON), then defaults: the first that names a setting wins.
 */
export function resolveConfig(
  flags: Raw & { config?: string },
  env: NodeJS.ProcessEnv,
  cwd: string,
): ControllerConfig {
  const configFile = flags.config ?? env.STOWAGE_CONFIG;
  const file: Raw = configFile ? readConfigFile(path.resolve(cwd, configFile)) : {};
  const raw: Raw = {};
  for (const setting of SETTINGS) {
    const value =
      flags[setting.key] ??
      env[envName(setting.key)] ??
      file[setting.key] ??
      ("default" in setting ? setting.default : undefined);
    if (value !== undefined) raw[setting.key] = String(value);
  }
  const dataDir = path.resolve(cwd, raw.dataDir ?? "data");
  return {
    host: raw.host ?? "127.0.0.1",
    port: integer("port", raw.port, 0, 65535),
    dataDir,
    database: raw.database ? path.resolve(cwd, raw.database) : path.join(dataDir, "stowage.db"),
    logLevel: oneOf("logLevel", raw.logLevel ?? "info", [
      "trace",
      "debug",
      "info",
      "warn",
      "error",
      "fatal",
      "silent",
    ]),
    tlsCert: raw.tlsCert ? path.resolve(cwd, raw.tlsCert) : undefined,
    tlsKey: raw.tlsKey ? path.resolve(cwd, raw.tlsKey) : undefined,
    validateResponses:
      oneOf("validateResponses", raw.validateResponses ?? "false", ["true", "false"]) === "true",
    publicUrl: raw.publicUrl ? httpUrl("publicUrl", raw.publicUrl) : undefined,
    reporting: reportingOf(raw.reporting ?? "here"),
    accessTokenLifetimeSeconds: integer(
      "accessTokenLifetimeSeconds",
      raw.accessTokenLifetimeSeconds,
      30,
      3600,
    ),
    tokenRequestsPerMinute: integer("tokenRequestsPerMinute", raw.tokenRequestsPerMinute, 1, 6000),
    agentLogMaxBytes: integer("agentLogMaxBytes", raw.agentLogMaxBytes, 1024, 2 ** 40),
    agentTraceMaxBytes: integer("agentTraceMaxBytes", raw.agentTraceMaxBytes, 1024, 1 << 30),
    shutdownGraceMs: integer("shutdownGraceMs", raw.shutdownGraceMs, 0, 600_000),
    jobLeaseMs: integer("jobLeaseMs", raw.jobLeaseMs, 50, 86_400_000),
    maxJobsPerDeployment: integer("maxJobsPerDeployment", raw.maxJobsPerDeployment, 1, 10_000),
    agentOfflineAfterSeconds: integer(
      "agentOfflineAfterSeconds",
      raw.agentOfflineAfterSeconds,
      1,
      30 * 86_400,
    ),
    eventRetentionDays: integer("eventRetentionDays", raw.eventRetentionDays, 0, 36_500),
    logRetentionDays: integer("logRetentionDays", raw.logRetentionDays, 0, 36_500),
    auditRetentionDays: integer("auditRetentionDays", raw.auditRetentionDays, 0, 36_500),
    jobRetentionDays: integer("jobRetentionDays", raw.jobRetentionDays, 0, 36_500),
    retentionIntervalMs: integer("retentionIntervalMs", raw.retentionIntervalMs, 50, 86_400_000),
    retentionBatchSize: integer("retentionBatchSize", raw.retentionBatchSize, 1, 100_000),
    zeebeBackupTimeoutMs: integer(
      "zeebeBackupTimeoutMs",
      raw.zeebeBackupTimeoutMs,
      1000,
      7 * 86_400_000,
    ),
  };
}

function readConfigFile(file: string): Raw {
  const parsed: unknown = parse(readFileSync(file, "utf8"));
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error(`${file}: expected a mapping of settings`);
  const known = new Set<string>(SETTINGS.map((setting) => setting.key));
  const unknown = Object.keys(parsed).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`${file}: unknown settings ${unknown.join(", ")}`);
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
}

function httpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an http or https URL (got ${value})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`${name} must be an http or https URL (got ${value})`);
  return value.replace(/\/+$/, "");
}

function reportingOf(value: string): ControllerConfig["reporting"] {
  if (value === "here" || value === "off") return value;
  return { url: httpUrl("reporting", value) };
}

function integer(name: string, value: string | undefined, min: number, max: number): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return parsed;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`${name} must be one of ${allowed.join(", ")} (got ${value})`);
  return value as T;
}
