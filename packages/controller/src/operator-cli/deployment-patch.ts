import type { components } from "@stowage/control-client";
import { bodyFrom, secretFrom, USAGE_EXIT } from "./inputs";
import { CliExit } from "./operator-session";

type Schemas = components["schemas"];
type Patch = Schemas["DeploymentUpdate"];
type Retention = Schemas["RetentionPolicy"];

export interface DeploymentUpdateOptions {
  file?: string;
  name?: string;
  description?: string;
  pause?: boolean;
  resume?: boolean;
  schedule?: string[];
  incrementalSchedule?: string[];
  timeZone?: string;
  clearSchedules?: boolean;
  target?: string[];
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  compression?: "gzip" | "none";
  encryptionKeyRef?: string;
  /** Commander's `--no-encryption`: true unless the flag is given. */
  encryption: boolean;
  agent?: string;
  passwordFile?: string;
}

/**
 * The merge patch the flags ask for, over `--file`'s patch if given. The spec replaces a given
 * `retention` whole, so `--keep-last 5` alone would drop the other rules: the retention flags are
 * laid over the stored policy, which `current` reads (only when one is given).
 */
export async function deploymentPatchFrom(
  options: DeploymentUpdateOptions,
  current: () => Promise<Schemas["Deployment"]>,
): Promise<Patch> {
  refuseContradictions(options);
  const patch: Patch = options.file ? { ...(bodyFrom(options.file) as Patch) } : {};
  if (options.name !== undefined) patch.name = options.name;
  if (options.description !== undefined) patch.description = options.description;
  if (options.pause) patch.paused = true;
  if (options.resume) patch.paused = false;
  if (options.clearSchedules) patch.schedules = [];
  if (options.schedule || options.incrementalSchedule) {
    const timeZone = options.timeZone === undefined ? {} : { time_zone: options.timeZone };
    patch.schedules = [
      ...(options.schedule ?? []).map((cron) => ({ cron, ...timeZone, level: "full" as const })),
      ...(options.incrementalSchedule ?? []).map((cron) => ({
        cron,
        ...timeZone,
        level: "incremental" as const,
      })),
    ];
  }
  if (options.target) patch.target_ids = options.target;
  const retention: Retention = {
    keep_last: options.keepLast,
    keep_daily: options.keepDaily,
    keep_weekly: options.keepWeekly,
    keep_monthly: options.keepMonthly,
  };
  if (Object.values(retention).some((value) => value !== undefined)) {
    const base = patch.retention ?? (await current()).retention;
    patch.retention = { ...base, ...withoutUndefined(retention) };
  }
  if (options.compression !== undefined) patch.compression = options.compression;
  if (options.encryptionKeyRef !== undefined)
    patch.encryption = { algorithm: "aes-256-gcm", key_ref: options.encryptionKeyRef };
  if (!options.encryption) patch.encryption = null;
  if (options.agent !== undefined) patch.driver = { type: "pull", agent_id: options.agent };
  // `connection` merges on the server: a password alone rotates it and keeps the rest.
  if (options.passwordFile !== undefined)
    patch.connection = { ...patch.connection, password: secretFrom(options.passwordFile) };
  if (Object.keys(patch).length === 0)
    throw new CliExit(USAGE_EXIT, "nothing to update: give a flag or --file (see --help)");
  return patch;
}

function refuseContradictions(options: DeploymentUpdateOptions): void {
  const pairs: [boolean, string][] = [
    [options.pause === true && options.resume === true, "--pause and --resume"],
    [
      options.clearSchedules === true &&
        (options.schedule !== undefined || options.incrementalSchedule !== undefined),
      "--clear-schedules and --schedule",
    ],
    [
      options.encryptionKeyRef !== undefined && !options.encryption,
      "--encryption-key-ref and --no-encryption",
    ],
  ];
  for (const [clash, flags] of pairs)
    if (clash) throw new CliExit(USAGE_EXIT, `${flags} contradict each other`);
  if (
    options.timeZone !== undefined &&
    options.schedule === undefined &&
    options.incrementalSchedule === undefined
  )
    throw new CliExit(USAGE_EXIT, "--time-zone applies to the --schedule flags given with it");
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>;
}
