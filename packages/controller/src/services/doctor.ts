import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { DeploymentRow } from "../store/deployments-store";
import { DoctorStore, type FailureStreak } from "../store/doctor-store";
import { systemClock, type Clock } from "./clock";
import type { CallContext, Stores } from "./control-context";
import { settingsFromRow, type DeploymentSettings } from "./deployment-settings";
import type { OperatorPrincipal } from "./principal";
import { firstSlotAfter, longestGapMs } from "./schedule-plan";

type Schemas = components["schemas"];
export type DoctorReport = Schemas["DoctorReport"];
export type DoctorDeployment = Schemas["DoctorDeployment"];
export type DoctorProblem = Schemas["DoctorProblem"];
type Severity = DoctorProblem["severity"];
type Call = CallContext<OperatorPrincipal>;

export interface DoctorSettings {
  /** An agent not seen for this long is offline: the jobs service's threshold, so both agree. */
  agentOfflineAfterMs: number;
}

/** Older than this many expected intervals, the last good backup is overdue (the spec: plus grace). */
export const OVERDUE_INTERVALS = 2;
/** ...and this many, critical: more than two slots in a row came to nothing. */
export const OVERDUE_CRITICAL_INTERVALS = 3;
/** After the first slot a backup may still be running; at most this long, at most an interval. */
export const FIRST_BACKUP_GRACE_MS = 3_600_000;
/** This many failed jobs in a row is no longer a glitch. */
export const FAILING_CRITICAL = 3;
/** Agent error texts can be long (a stack from a dump tool); the problem quotes the start. */
const QUOTED_ERROR_LIMIT = 200;

const SEVERITY_RANK: Record<Severity, number> = { warning: 1, critical: 2 };

/**
 * `GET /v1/doctor`: per deployment of the caller's tenant, the age of its last good backup
 * against its schedule, its pull agent's last contact, its failed jobs in a row and whether it is
 * paused, with a problem and a suggestion for each thing wrong.
 */
export class DoctorService {
  private readonly store: DoctorStore;

  constructor(
    private readonly stores: Stores,
    private readonly settings: DoctorSettings,
    private readonly clock: Clock = systemClock,
  ) {
    this.store = new DoctorStore(stores.db);
  }

  report(call: Call, query: { deployment?: string } = {}, now = this.clock.now()): DoctorReport {
    const rows =
      query.deployment === undefined ? this.allOf(call) : [this.oneOf(call, query.deployment)];
    const deployments = rows.map((row) => this.examine(row, now));
    const summary = { deployments: deployments.length, ok: 0, warning: 0, critical: 0 };
    for (const deployment of deployments) summary[deployment.status]++;
    return { ok: summary.ok === deployments.length, summary, deployments };
  }

  /** One deployment's checks at `now`. */
  examine(row: DeploymentRow, now: Date): DoctorDeployment {
    const settings = settingsFromRow(row);
    const intervalMs = longestGapMs(settings.schedules, now);
    const good = this.stores.backups.latestCompleted(row.id);
    const goodAt = good ? (good.completed_at ?? good.created_at) : undefined;
    const streak = this.store.failureStreak(row.id);
    const agent = this.agentOf(row, settings, now);

    const problems: DoctorProblem[] = [];
    const name = row.name;
    const take = `stowage backups take ${name} --follow`;

    if (settings.paused) {
      problems.push({
        code: "deployment.paused",
        severity: "warning",
        message: "Scheduled backups are paused: no slot runs until the deployment is resumed.",
        suggestion: {
          human: `Resume it when the pause is over (PATCH /v1/deployments/${name} with {"paused": false}); meanwhile a backup can be taken by hand.`,
          command: take,
        },
      });
    }
    if (settings.schedules.length === 0) {
      problems.push({
        code: "schedule.none",
        severity: "warning",
        message: "The deployment has no schedule: backups are taken only by hand.",
        suggestion: {
          human: `Add a schedule (PATCH /v1/deployments/${name} with schedules), or take backups by hand.`,
          command: take,
        },
      });
    }

    if (goodAt !== undefined && intervalMs !== null) {
      const ageMs = now.getTime() - Date.parse(goodAt);
      if (ageMs > OVERDUE_INTERVALS * intervalMs) {
        problems.push({
          code: "backup.overdue",
          severity: ageMs > OVERDUE_CRITICAL_INTERVALS * intervalMs ? "critical" : "warning",
          message: `The last good backup is ${duration(ageMs)} old; the schedule expects one ${every(intervalMs)}.`,
          suggestion: {
            human:
              streak.count > 0
                ? "Look at the failed jobs, fix the cause, then take a backup."
                : "Find out why the scheduled backups stopped (skipped slots, the agent, a pause), fix it, then take a backup.",
            command: take,
          },
        });
      }
    } else if (goodAt === undefined && intervalMs !== null) {
      const firstSlot = firstSlotAfter(settings.schedules, new Date(row.created_at));
      const grace = Math.min(intervalMs, FIRST_BACKUP_GRACE_MS);
      if (firstSlot && now.getTime() > firstSlot.getTime() + grace) {
        const active = this.store.activeBackupJob(row.id);
        const since = `since its first slot (${firstSlot.toISOString()}, ${duration(now.getTime() - firstSlot.getTime())} ago)`;
        problems.push(
          active
            ? {
                code: "backup.never_succeeded",
                severity: "warning",
                message: `No backup has completed ${since}; job ${active.id} is ${active.status.toLowerCase()}.`,
                suggestion: {
                  human: `Follow job ${active.id} to its end; if it does not start, check the agent.`,
                  command: `stowage jobs events ${active.id} --follow`,
                },
              }
            : {
                code: "backup.never_succeeded",
                severity: "critical",
                message: `No backup has completed ${since}.`,
                suggestion: {
                  human:
                    streak.count > 0
                      ? "Look at the failed jobs, fix the cause, then take a backup."
                      : "Take a backup now and follow it, to see what keeps it from completing.",
                  command: take,
                },
              },
        );
      }
    }

    if (streak.count > 0) problems.push(failingProblem(streak));
    if (agent.problem) problems.push(agent.problem);

    const worst = problems.reduce<Severity | undefined>(
      (current, problem) =>
        current === undefined || SEVERITY_RANK[problem.severity] > SEVERITY_RANK[current]
          ? problem.severity
          : current,
      undefined,
    );
    return {
      deployment_id: row.id,
      name,
      status: worst ?? "ok",
      last_good_backup:
        good && goodAt !== undefined
          ? {
              backup_id: good.id,
              completed_at: goodAt,
              age_seconds: Math.max(0, Math.floor((now.getTime() - Date.parse(goodAt)) / 1000)),
            }
          : null,
      expected_interval_seconds: intervalMs === null ? null : Math.round(intervalMs / 1000),
      agent: agent.view,
      consecutive_failures: streak.count,
      problems,
    };
  }

  private agentOf(
    row: DeploymentRow,
    settings: DeploymentSettings,
    now: Date,
  ): { view: DoctorDeployment["agent"]; problem?: DoctorProblem } {
    const { driver } = settings;
    if (driver.type !== "pull") return { view: null };
    const agent = this.stores.agents.byId(driver.agent_id, row.tenant_id);
    const lastSeen = agent?.last_seen_at ?? null;
    const ageMs = lastSeen === null ? null : Math.max(0, now.getTime() - Date.parse(lastSeen));
    const online =
      agent !== undefined &&
      agent.revoked_at === null &&
      ageMs !== null &&
      ageMs <= this.settings.agentOfflineAfterMs;
    const view = {
      agent_id: driver.agent_id,
      last_seen_at: lastSeen,
      last_seen_age_seconds: ageMs === null ? null : Math.floor(ageMs / 1000),
      online,
    };
    const reassign = `Enroll an agent (POST /v1/enrollments) and point the deployment at it (PATCH /v1/deployments/${row.name} with driver.agent_id).`;
    if (!agent) {
      return {
        view,
        problem: {
          code: "agent.unassigned",
          severity: "critical",
          message: `The deployment names agent ${driver.agent_id}, which this tenant does not have: nothing runs its jobs.`,
          suggestion: { human: reassign },
        },
      };
    }
    if (agent.revoked_at !== null) {
      return {
        view,
        problem: {
          code: "agent.revoked",
          severity: "critical",
          message: `Agent ${agent.name} was revoked at ${agent.revoked_at}: nothing runs this deployment's jobs.`,
          suggestion: { human: reassign },
        },
      };
    }
    if (online) return { view };
    const where = agent.hostname ? ` on ${agent.hostname}` : "";
    return {
      view,
      problem:
        ageMs === null
          ? {
              code: "agent.offline",
              severity: "warning",
              message: `Agent ${agent.name} has not connected since it enrolled.`,
              suggestion: {
                human: `Start the agent${where} with its enrolled key and check that it reaches the controller.`,
              },
            }
          : {
              code: "agent.offline",
              severity: "critical",
              message: `Agent ${agent.name} was last seen ${duration(ageMs)} ago (offline after ${duration(this.settings.agentOfflineAfterMs)}).`,
              suggestion: {
                human: `Check that the agent${where} is running and can reach the controller; its jobs wait until it is back.`,
              },
            },
    };
  }

  private allOf(call: Call): DeploymentRow[] {
    return this.store.deploymentsOf(call.principal.tenantId);
  }

  /**
   * The filtered deployment. getDoctorReport has no 404: an unknown name (or another tenant's,
   * which must look the same) is a 400 on the parameter, not an empty report that reads as "ok".
   */
  private oneOf(call: Call, key: string): DeploymentRow {
    const row = this.stores.deployments.byIdOrName(call.principal.tenantId, key);
    if (!row) {
      throw new ApiError(400, "request.invalid", `No deployment ${key}.`, {
        details: [{ path: "/query/deployment", message: "names no deployment of this tenant" }],
        suggestion: {
          human: "List the deployments to find its name.",
          command: "stowage deployments list",
        },
      });
    }
    return row;
  }
}

function failingProblem(streak: FailureStreak): DoctorProblem {
  const count = streak.count;
  const error = streak.last?.error_message?.trim();
  const quoted =
    error && error.length > QUOTED_ERROR_LIMIT ? `${error.slice(0, QUOTED_ERROR_LIMIT)}...` : error;
  const what = count === 1 ? "The last job failed" : `The last ${count} jobs failed`;
  return {
    code: "jobs.failing",
    severity: count >= FAILING_CRITICAL ? "critical" : "warning",
    message: quoted ? `${what}: ${quoted}` : `${what}.`,
    suggestion: {
      human: "Read the last failed job's phases and logs, fix the cause, then take a backup.",
      ...(streak.last ? { command: `stowage jobs get ${streak.last.id}` } : {}),
    },
  };
}

const UNITS: [name: string, ms: number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** "3 days", "5 hours", "1 minute": the largest unit that gives at least 2, or 1 of the smallest fit. */
export function duration(ms: number): string {
  for (const [name, size] of UNITS) {
    const count = Math.floor(ms / size);
    if (count >= 2 || (count === 1 && ms % size === 0))
      return `${count} ${name}${count === 1 ? "" : "s"}`;
  }
  for (const [name, size] of UNITS) {
    const count = Math.floor(ms / size);
    if (count >= 1) return `${count} ${name}${count === 1 ? "" : "s"}`;
  }
  return "0 seconds";
}

/** "every day", "every 6 hours". */
function every(ms: number): string {
  const text = duration(ms);
  return text.startsWith("1 ") ? `every ${text.slice(2).replace(/s$/, "")}` : `every ${text}`;
}
