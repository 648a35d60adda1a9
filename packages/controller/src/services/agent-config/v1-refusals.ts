import { ApiError, type ErrorDetail } from "@stowage/server-runtime";
import type { DeploymentSettings } from "../deployment-settings";
import type { AgentConfigInputs, DeploymentInput } from "./agent-config-inputs";

type RetentionPolicy = DeploymentSettings["retention"];

const CONFIG_V2_MEDIA_TYPE = "application/vnd.stowage.agent-config.v2+json";

/** Zones that are UTC whatever the agent's local zone is called. */
const UTC_ZONES = new Set(["UTC", "Etc/UTC"]);

/**
 * What databacker's v1 cannot say about these deployments, each as a path and a reason; empty when
 * v1 says all of it. DESIGN section 5: a setting v1 cannot carry is a refusal, never a drop.
 */
export function v1Problems(inputs: AgentConfigInputs): ErrorDetail[] {
  const { deployments } = inputs;
  const problems: ErrorDetail[] = [];
  if (deployments.length > 1) {
    problems.push({
      path: "/deployments",
      message:
        `v1 holds one database; this agent runs ${deployments.length} deployments ` +
        `(${deployments.map((deployment) => deployment.name).join(", ")})`,
    });
  }
  for (const deployment of deployments) problems.push(...deploymentProblems(deployment));
  return problems;
}

/** Throws the 406 that names every problem at once, so one answer tells the operator everything. */
export function refuseUnlessV1Expressible(inputs: AgentConfigInputs): void {
  const details = v1Problems(inputs);
  if (details.length === 0) return;
  throw new ApiError(
    406,
    "request.not_acceptable",
    "This agent's deployments cannot be expressed faithfully in config v1.",
    {
      subject: { instance: inputs.agent.id },
      details,
      suggestion: {
        human:
          `Ask for ${CONFIG_V2_MEDIA_TYPE}, which carries every setting, or change the ` +
          "deployment as the details say so that v1 can express it.",
      },
    },
  );
}

function deploymentProblems(deployment: DeploymentInput): ErrorDetail[] {
  const at = `/deployments/${deployment.name}`;
  const { settings } = deployment;
  const problems: ErrorDetail[] = [];
  // mysql-backup dumps MySQL and MariaDB; `database` has no field for any other kind.
  if (settings.kind !== "mysql")
    problems.push({ path: `${at}/kind`, message: `v1 backs up MySQL only, not ${settings.kind}` });
  // mysql-backup runs its own timer: without `dump.schedule` it still dumps (daily by default),
  // so neither "paused" nor "on demand only" has a v1 form.
  if (settings.paused)
    problems.push({
      path: `${at}/paused`,
      message: "v1 has no pause: the agent would keep dumping",
    });
  if (settings.schedules.length === 0)
    problems.push({
      path: `${at}/schedules`,
      message: "v1 always runs on a schedule; a deployment without one has no v1 form",
    });
  if (settings.schedules.length > 1)
    problems.push({
      path: `${at}/schedules`,
      message: `v1 holds one schedule; this deployment has ${settings.schedules.length}`,
    });
  settings.schedules.forEach((schedule, index) => {
    if (!UTC_ZONES.has(schedule.time_zone))
      problems.push({
        path: `${at}/schedules/${index}/time_zone`,
        message: `v1 has no time zone (the agent's local zone applies), so only UTC is faithful, not ${schedule.time_zone}`,
      });
    if (schedule.level !== "full")
      problems.push({
        path: `${at}/schedules/${index}/level`,
        message: `v1 takes full dumps only, not ${schedule.level} backups`,
      });
  });
  const retention = retentionProblem(settings.retention);
  if (retention)
    problems.push({ path: `${at}/retention${retention.member}`, message: retention.message });
  if (settings.encryption)
    problems.push({
      path: `${at}/encryption/algorithm`,
      message: `v1's encryption algorithms (aes256-cbc, chacha20-poly1305, smime-aes256-cbc, pbkdf2-aes256-cbc, age-chacha20-poly1305) do not include ${settings.encryption.algorithm}`,
    });
  for (const target of deployment.targets) {
    if (target.type === "swift")
      problems.push({
        path: `${at}/targets/${target.name}`,
        message: "v1 targets are s3, smb or file; it has no swift target",
      });
  }
  return problems;
}

/**
 * v1 retention is one string: a count (`5c`) or an age (`30d`). Only a count rule maps: "the
 * newest backup of each of N days" is not "every backup younger than N days".
 */
function retentionProblem(
  retention: RetentionPolicy,
): { member: string; message: string } | undefined {
  const calendar = (["keep_daily", "keep_weekly", "keep_monthly"] as const).filter(
    (rule) => retention[rule] !== undefined,
  );
  const keeping = calendar.find((rule) => (retention[rule] ?? 0) > 0);
  if (keeping)
    return {
      member: `/${keeping}`,
      message: `v1 retention is a count or an age; ${keeping} has no v1 form (keep_last has: a count)`,
    };
  if (retention.keep_last === 0)
    return { member: "/keep_last", message: "v1 retention has no count of zero" };
  // Rules of 0 keep nothing by themselves; with no keep_last beside them the policy prunes
  // everything, which v1 (no retention: keep everything) would turn around.
  if (retention.keep_last === undefined && calendar.length > 0)
    return {
      member: "",
      message: "this policy keeps no backup; v1 without retention keeps every backup",
    };
  return undefined;
}

/** The v1 `prune.retention` of a policy `v1Problems` accepted: `Nc`, or none. */
export function v1Retention(retention: RetentionPolicy): string | undefined {
  return retention.keep_last === undefined ? undefined : `${retention.keep_last}c`;
}
