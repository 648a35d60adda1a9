import type { Cron } from "croner";
import { ApiError } from "@stowage/server-runtime";
import type { DeploymentRow } from "../store/deployments-store";
import {
  SchedulerStore,
  type ScheduleCursorRow,
  type ScheduleSlotRow,
} from "../store/scheduler-store";
import { BackupsService } from "./backups-service";
import { systemClock, type Clock } from "./clock";
import type { Stores } from "./control-context";
import type { Schedule } from "./deployment-settings";
import type { JobsService } from "./jobs-service";
import {
  cronFor,
  dueSlots,
  scheduleFingerprint,
  slotsAfter,
  type CursorState,
  type DueSlots,
} from "./schedule-plan";

/** The logger calls the scheduler makes (pino's shape, so the controller's logger fits). */
export interface SchedulerLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface SchedulerOptions {
  clock?: Clock;
  logger?: SchedulerLogger;
  /**
   * The longest the timer sleeps before re-planning anyway. Changes through the API wake the
   * scheduler at once; this catches the rest (a change written by another process, a wall clock
   * that jumped while a long timer was pending).
   */
  maxSleepMs?: number;
  /** How long slot records are kept; the cursors keep older slots handled without them. */
  slotHistoryMs?: number;
}

/** Why a slot did not queue a backup. */
export type SkipReason = "job_queued" | "job_limit" | "refused";

/** What one slot came to, as a pass reports it (and the log and tests read it). */
export interface SlotOutcome {
  deploymentId: string;
  scheduleIndex: number;
  slot: string;
  outcome: "queued" | "skipped";
  reason?: SkipReason;
  jobId?: string;
  /** Earlier slots folded into this one (a lower bound when the list was cut). */
  coalesced: number;
}

export interface PassResult {
  at: string;
  outcomes: SlotOutcome[];
  /** The earliest slot still ahead, `null` when no schedule has one. */
  nextSlotAt: string | null;
  /** Deployments whose step failed (logged; retried on the next pass). */
  failed: string[];
}

const DEFAULT_MAX_SLEEP_MS = 60_000;
const DEFAULT_SLOT_HISTORY_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Slots listed in an event body; the count, first and last say the rest. */
const EVENT_SLOT_LIST_LIMIT = 20;

const SKIP_TEXT: Record<SkipReason, string> = {
  job_queued: "a job of this deployment is still queued",
  job_limit: "the deployment is at its limit of queued and running jobs",
  refused: "the backup could not be queued",
};

interface DueSchedule {
  index: number;
  schedule: Schedule;
  fingerprint: string;
  cron: Cron;
  due: DueSlots;
}

/**
 * Turns the schedules of every deployment that is not paused into backup jobs, exactly once per
 * slot, with DESIGN's rules: a slot that finds a job of the deployment still QUEUED, or the
 * deployment at its job limit (429), is a `skipped` event, never dropped silently; after downtime
 * the missed slots of a schedule run once, as the latest, and the event says which were folded in.
 *
 * One timer for the whole scheduler: it sleeps until the earliest next slot (at most
 * `maxSleepMs`), and `wake()` re-plans at once when deployments change. Each slot is decided in
 * an IMMEDIATE transaction that re-reads the deployment and its cursor, records the slot under
 * a unique key and queues the job: a restart in the middle, or a second scheduler on the same
 * database, finds the slot handled and does nothing.
 */
export class Scheduler {
  private readonly store: SchedulerStore;
  private readonly backups: BackupsService;
  private readonly clock: Clock;
  private readonly logger?: SchedulerLogger;
  private readonly maxSleepMs: number;
  private readonly slotHistoryMs: number;
  private readonly settleTransaction;
  private running = false;
  private cancelTimer?: () => void;
  /** When the armed timer should fire (clock ms): readiness notices a timer that never did. */
  private armedFor?: number;
  private lastPassFailed = false;
  private lastPruneAt = Number.NEGATIVE_INFINITY;
  /**
   * Each schedule's next slot by (deployment, index, fingerprint, handled-through): a pass asks
   * croner (a fraction of a millisecond a call) only for schedules that changed or came due.
   */
  private nextSlots = new Map<string, number | null>();
  /** Schedules whose cron no longer parses, reported once rather than on every pass. */
  private readonly reportedBroken = new Set<string>();

  constructor(
    private readonly stores: Stores,
    jobs: JobsService,
    options: SchedulerOptions = {},
  ) {
    this.store = new SchedulerStore(stores.db);
    this.backups = new BackupsService(stores, jobs);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.maxSleepMs = options.maxSleepMs ?? DEFAULT_MAX_SLEEP_MS;
    this.slotHistoryMs = options.slotHistoryMs ?? DEFAULT_SLOT_HISTORY_MS;
    this.settleTransaction = stores.db.transaction((deploymentId: string, now: Date) =>
      this.settle(deploymentId, now),
    );
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Runs a first pass at once (the catch-up after downtime), then keeps the timer armed. */
  start(): PassResult | undefined {
    if (this.running) return undefined;
    this.running = true;
    return this.passAndArm();
  }

  stop(): void {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedFor = undefined;
  }

  /** Re-plans soon (deployments changed); several wakes before the timer fires make one pass. */
  wake(): void {
    if (this.running) this.arm(0);
  }

  /** The readiness check: ok while the timer runs and the last pass could read the store. */
  readiness(): { name: "scheduler"; ok: boolean; message?: string } {
    if (!this.running) return { name: "scheduler", ok: false, message: "the scheduler is stopped" };
    if (this.lastPassFailed)
      return {
        name: "scheduler",
        ok: false,
        message: "the last scheduling pass failed; see the controller log",
      };
    // A timer that should have fired long ago means the event loop or the timer is stuck.
    if (this.armedFor !== undefined && this.clock.now().getTime() > this.armedFor + 60_000)
      return { name: "scheduler", ok: false, message: "the scheduler's timer is overdue" };
    return { name: "scheduler", ok: true };
  }

  /** The slots recorded for a deployment, oldest first (tests and diagnostics). */
  slotsOf(deploymentId: string): ScheduleSlotRow[] {
    return this.store.slotsOf(deploymentId);
  }

  /**
   * One pass over every scheduled deployment at the clock's now: handles what is due and
   * answers what it did. The timer calls it; tests may call it directly.
   */
  runPass(): PassResult {
    const now = this.clock.now();
    const nowMs = now.getTime();
    const outcomes: SlotOutcome[] = [];
    const failed: string[] = [];
    const nextSlots = new Map<string, number | null>();
    let earliest: number | null = null;
    const deployments = this.store.scheduledDeployments();
    const cursors = groupCursors(this.store.cursors());
    const scheduled = new Set<string>();

    for (const deployment of deployments) {
      scheduled.add(deployment.id);
      try {
        const next = this.plan(deployment, cursors.get(deployment.id) ?? [], now, {
          outcomes,
          nextSlots,
        });
        if (next !== null && (earliest === null || next < earliest)) earliest = next;
      } catch (error) {
        failed.push(deployment.id);
        this.logger?.error(
          { err: error, deployment: deployment.id },
          "scheduling the deployment failed; retried on the next pass",
        );
      }
    }
    // A deployment whose schedules were all removed starts afresh if it gets some again.
    for (const deploymentId of cursors.keys()) {
      if (!scheduled.has(deploymentId)) this.store.dropCursors(deploymentId, 0);
    }
    this.nextSlots = nextSlots;
    if (nowMs - this.lastPruneAt >= PRUNE_EVERY_MS) {
      this.lastPruneAt = nowMs;
      this.store.pruneSlots(new Date(nowMs - this.slotHistoryMs).toISOString());
    }
    return {
      at: now.toISOString(),
      outcomes,
      nextSlotAt: earliest === null ? null : new Date(earliest).toISOString(),
      failed,
    };
  }

  // --- the timer ---------------------------------------------------------------------------------

  private arm(delayMs: number): void {
    this.cancelTimer?.();
    const delay = Math.max(0, delayMs);
    this.armedFor = this.clock.now().getTime() + delay;
    this.cancelTimer = this.clock.setTimer(() => {
      this.cancelTimer = undefined;
      if (this.running) this.passAndArm();
    }, delay);
  }

  private passAndArm(): PassResult | undefined {
    let result: PassResult | undefined;
    try {
      result = this.runPass();
      this.lastPassFailed = false;
    } catch (error) {
      // The store could not be read at all: not ready, and try again after the usual sleep.
      this.lastPassFailed = true;
      this.logger?.error({ err: error }, "the scheduling pass failed");
    }
    if (!this.running) return result;
    const now = this.clock.now().getTime();
    const next = result?.nextSlotAt ? Date.parse(result.nextSlotAt) : Number.POSITIVE_INFINITY;
    // At least a millisecond: a timer that fires a hair before its slot finds nothing due and
    // sleeps the remainder, rather than spinning.
    this.arm(Math.max(1, Math.min(next - now, this.maxSleepMs)));
    return result;
  }

  // --- planning and settling -----------------------------------------------------------------------

  /**
   * Decides, from the cursors read for the whole pass, whether the deployment has anything to do
   * now (a slot due, a schedule not seen before, a resume); if so settles it in a transaction.
   * Answers its earliest next slot.
   */
  private plan(
    deployment: DeploymentRow,
    cursors: readonly ScheduleCursorRow[],
    now: Date,
    pass: { outcomes: SlotOutcome[]; nextSlots: Map<string, number | null> },
  ): number | null {
    const schedules = JSON.parse(deployment.schedules) as Schedule[];
    if (deployment.paused) {
      // Remembered once, so the slots of the pause are not caught up after a resume.
      if (cursors.some((cursor) => cursor.paused_seen === 0)) this.store.markPaused(deployment.id);
      return null;
    }
    if (cursors.some((cursor) => cursor.schedule_index >= schedules.length))
      this.store.dropCursors(deployment.id, schedules.length);

    const byIndex = new Map(cursors.map((cursor) => [cursor.schedule_index, cursor]));
    let earliest: number | null = null;
    let needsSettling = false;
    schedules.forEach((schedule, index) => {
      const cron = this.cronOf(deployment, index, schedule);
      if (!cron) return;
      const fingerprint = scheduleFingerprint(schedule);
      const { after, fresh } = slotsAfter(
        cursorState(byIndex.get(index)),
        fingerprint,
        deployment.updated_at,
      );
      const key = slotKey(deployment.id, index, fingerprint, after);
      const cached = this.nextSlots.get(key);
      const next = cached !== undefined ? cached : (cron.nextRun(after)?.getTime() ?? null);
      if (fresh || (next !== null && next <= now.getTime())) {
        needsSettling = true;
        return;
      }
      pass.nextSlots.set(key, next);
      if (next !== null && (earliest === null || next < earliest)) earliest = next;
    });
    if (!needsSettling) return earliest;

    const settled = this.settleTransaction.immediate(deployment.id, now);
    pass.outcomes.push(...settled.outcomes);
    for (const [key, next] of settled.nextSlots) {
      pass.nextSlots.set(key, next);
      if (next !== null && (earliest === null || next < earliest)) earliest = next;
    }
    for (const outcome of settled.outcomes) this.logOutcome(outcome);
    return earliest;
  }

  /**
   * Inside the transaction: everything re-read, so what another scheduler or a restart did in
   * between counts. Handles each schedule's due slots (the earliest slot first; at one instant a
   * full before an incremental, so the incremental finds the full queued and is skipped rather
   * than the other way round) and moves the cursors.
   */
  private settle(
    deploymentId: string,
    now: Date,
  ): { outcomes: SlotOutcome[]; nextSlots: [string, number | null][] } {
    const outcomes: SlotOutcome[] = [];
    const nextSlots: [string, number | null][] = [];
    const deployment = this.store.deployment(deploymentId);
    if (!deployment || deployment.paused) return { outcomes, nextSlots };
    const schedules = JSON.parse(deployment.schedules) as Schedule[];
    const cursors = new Map(
      this.store.cursorsOf(deploymentId).map((cursor) => [cursor.schedule_index, cursor]),
    );
    const work: DueSchedule[] = [];
    schedules.forEach((schedule, index) => {
      const cron = cronFor(schedule);
      if (!cron) return;
      const fingerprint = scheduleFingerprint(schedule);
      const { after, fresh } = slotsAfter(
        cursorState(cursors.get(index)),
        fingerprint,
        deployment.updated_at,
      );
      const due = dueSlots(cron, after, now);
      if (due) {
        work.push({ index, schedule, fingerprint, cron, due });
        return;
      }
      if (fresh) this.moveCursor(deploymentId, index, fingerprint, after);
      nextSlots.push([
        slotKey(deploymentId, index, fingerprint, after),
        cron.nextRun(after)?.getTime() ?? null,
      ]);
    });
    work.sort(
      (a, b) =>
        a.due.slot.getTime() - b.due.slot.getTime() ||
        levelRank(a.schedule) - levelRank(b.schedule) ||
        a.index - b.index,
    );
    for (const item of work) {
      const outcome = this.fire(deployment, item, now);
      if (outcome) outcomes.push(outcome);
      this.moveCursor(deploymentId, item.index, item.fingerprint, item.due.slot);
      nextSlots.push([
        slotKey(deploymentId, item.index, item.fingerprint, item.due.slot),
        item.cron.nextRun(item.due.slot)?.getTime() ?? null,
      ]);
    }
    return { outcomes, nextSlots };
  }

  /**
   * One slot: skipped when a job of the deployment is still queued or the job limit refuses it,
   * else a backup job; recorded with its unique key either way. A slot recorded before (by a
   * scheduler that stopped before moving its cursor, or by another one) is left alone.
   */
  private fire(deployment: DeploymentRow, item: DueSchedule, now: Date): SlotOutcome | undefined {
    const slot = item.due.slot.toISOString();
    if (this.store.slot(deployment.id, item.index, slot)) return undefined;
    const at = now.toISOString();
    const facts = {
      slot,
      schedule: item.index,
      cron: item.schedule.cron,
      time_zone: item.schedule.time_zone,
      level: item.schedule.level,
      ...coalescedFacts(item.due),
    };
    let jobId: string | undefined;
    let reason: SkipReason | undefined;
    let refusal: { status: number; code: string; message: string } | undefined;
    const queued = this.store.queuedJob(deployment.id);
    if (queued) {
      reason = "job_queued";
    } else {
      try {
        jobId = this.backups.takeScheduled(deployment, {
          level: item.schedule.level,
          slot,
        }).id;
      } catch (error) {
        // An ApiError is a refusal the API would have answered (429 at the job limit); anything
        // else is a failure of the store, which rolls the whole step back to be retried.
        if (!(error instanceof ApiError)) throw error;
        reason = error.status === 429 ? "job_limit" : "refused";
        refusal = { status: error.status, code: error.code, message: error.message };
      }
    }

    this.store.insertSlot({
      deployment_id: deployment.id,
      schedule_index: item.index,
      slot_at: slot,
      tenant_id: deployment.tenant_id,
      outcome: jobId ? "queued" : "skipped",
      reason: reason ?? null,
      job_id: jobId ?? null,
      coalesced_count: item.due.coalescedCount,
      first_coalesced_at: item.due.coalesced[0]?.toISOString() ?? null,
      recorded_at: at,
    });
    if (reason) {
      this.stores.eventLog.record({
        tenantId: deployment.tenant_id,
        deploymentId: deployment.id,
        op: "skipped",
        severity: "warning",
        body: {
          reason: SKIP_TEXT[reason],
          code: reason,
          ...facts,
          ...(queued ? { queued_job: queued.id, queued_kind: queued.kind } : {}),
          ...(refusal ? { refusal } : {}),
        },
        at,
      });
    } else if (item.due.coalescedCount > 0) {
      // The job's own `job_queued` event says nothing of the slots it stands for.
      this.stores.eventLog.record({
        tenantId: deployment.tenant_id,
        deploymentId: deployment.id,
        op: "schedule_catch_up",
        severity: "notice",
        subject: jobId ? { job: jobId } : {},
        body: facts,
        at,
      });
    }
    return {
      deploymentId: deployment.id,
      scheduleIndex: item.index,
      slot,
      outcome: jobId ? "queued" : "skipped",
      ...(reason ? { reason } : {}),
      ...(jobId ? { jobId } : {}),
      coalesced: item.due.coalescedCount,
    };
  }

  private moveCursor(
    deploymentId: string,
    index: number,
    fingerprint: string,
    handledThrough: Date,
  ): void {
    this.store.upsertCursor({
      deployment_id: deploymentId,
      schedule_index: index,
      fingerprint,
      handled_through: handledThrough.toISOString(),
      paused_seen: 0,
    });
  }

  private cronOf(deployment: DeploymentRow, index: number, schedule: Schedule): Cron | null {
    const cron = cronFor(schedule);
    const key = `${deployment.id}|${index}|${scheduleFingerprint(schedule)}`;
    if (!cron && !this.reportedBroken.has(key)) {
      this.reportedBroken.add(key);
      this.logger?.warn(
        {
          deployment: deployment.id,
          schedule: index,
          cron: schedule.cron,
          time_zone: schedule.time_zone,
        },
        "a schedule no longer parses (its time zone may have left the IANA database); it does not run",
      );
    }
    return cron;
  }

  private logOutcome(outcome: SlotOutcome): void {
    const details = {
      deployment: outcome.deploymentId,
      schedule: outcome.scheduleIndex,
      slot: outcome.slot,
      ...(outcome.jobId ? { job: outcome.jobId } : {}),
      ...(outcome.coalesced > 0 ? { coalesced: outcome.coalesced } : {}),
    };
    if (outcome.outcome === "queued") this.logger?.info(details, "scheduled backup queued");
    else
      this.logger?.warn(
        { ...details, reason: outcome.reason },
        `scheduled slot skipped: ${SKIP_TEXT[outcome.reason ?? "refused"]}`,
      );
  }
}

function groupCursors(rows: readonly ScheduleCursorRow[]): Map<string, ScheduleCursorRow[]> {
  const grouped = new Map<string, ScheduleCursorRow[]>();
  for (const row of rows) {
    const list = grouped.get(row.deployment_id);
    if (list) list.push(row);
    else grouped.set(row.deployment_id, [row]);
  }
  return grouped;
}

function cursorState(row: ScheduleCursorRow | undefined): CursorState | undefined {
  return row
    ? {
        fingerprint: row.fingerprint,
        handledThrough: row.handled_through,
        pausedSeen: row.paused_seen === 1,
      }
    : undefined;
}

function slotKey(deploymentId: string, index: number, fingerprint: string, after: Date): string {
  return `${deploymentId}|${index}|${fingerprint}|${after.toISOString()}`;
}

function levelRank(schedule: Schedule): number {
  return schedule.level === "full" ? 0 : 1;
}

/** Which slots a run stands for, when it stands for more than its own. */
function coalescedFacts(due: DueSlots): Record<string, unknown> {
  if (due.coalescedCount === 0) return {};
  const listed = due.coalesced.map((slot) => slot.toISOString());
  return {
    coalesced: {
      count: due.coalescedCount,
      // Past the listed slots the latest was found by bisection: `count` is then a lower bound.
      count_exact: due.complete,
      first: listed[0],
      // The last folded slot is known only when every one was listed.
      ...(due.complete ? { last: listed[listed.length - 1] } : {}),
      slots: listed.slice(0, EVENT_SLOT_LIST_LIMIT),
    },
  };
}
