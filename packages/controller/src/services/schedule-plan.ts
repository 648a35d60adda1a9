import type { Cron } from "croner";
import { cronOf, type Schedule } from "./deployment-settings";

/**
 * Slot arithmetic shared by the scheduler and the doctor. Every slot comes from `cronOf(...)
 * .nextRun(...)`, the call `next_run_at` is computed with, so the scheduler runs exactly the
 * slots the API announced (time zones and DST days included). No other croner call is used:
 * `previousRuns` resolves repeated and skipped local times on its own, which could disagree.
 */

/**
 * What identifies a schedule's slots: another cron or time zone at the same index starts its
 * slots afresh; another level does not change when it runs, so it keeps its place.
 */
export function scheduleFingerprint(schedule: Schedule): string {
  return JSON.stringify([schedule.cron, schedule.time_zone]);
}

const CRON_CACHE_LIMIT = 5000;
const crons = new Map<string, Cron | null>();

/**
 * The schedule's cron job, parsed once per cron and zone (parsing costs as much as a slot), or
 * `null` when it no longer parses (a zone the runtime's IANA database dropped since the API
 * accepted it). A paused croner job holds no timer, so sharing one is safe.
 */
export function cronFor(schedule: Schedule): Cron | null {
  const key = scheduleFingerprint(schedule);
  const cached = crons.get(key);
  if (cached !== undefined) return cached;
  let cron: Cron | null;
  try {
    cron = cronOf(schedule);
  } catch {
    cron = null;
  }
  if (crons.size >= CRON_CACHE_LIMIT) crons.clear();
  crons.set(key, cron);
  return cron;
}

/** The slots due at `now`, after the last handled instant: what one scheduling step runs. */
export interface DueSlots {
  /** The slot that runs: the latest due one. */
  slot: Date;
  /** Earlier due slots folded into it, oldest first; at most `listLimit` of them. */
  coalesced: Date[];
  /** How many earlier slots were folded in: exact when `complete`, else a lower bound. */
  coalescedCount: number;
  complete: boolean;
}

/** How many missed slots are listed one by one (and counted exactly) before bisection takes over. */
export const COALESCED_LIST_LIMIT = 100;

/**
 * The slots in (`after`, `now`]: `null` when none is due. After downtime many may be due; they
 * run once, as the latest, and the earlier ones are listed as coalesced. Each slot costs a
 * croner call (a fraction of a millisecond), so past `listLimit` the latest one is found by
 * bisection instead of walking a year of minutes.
 */
export function dueSlots(
  cron: Cron,
  after: Date,
  now: Date,
  listLimit = COALESCED_LIST_LIMIT,
): DueSlots | null {
  const first = cron.nextRun(after);
  if (!first || first > now) return null;
  const listed: Date[] = [];
  let slot = first;
  for (;;) {
    const next = cron.nextRun(slot);
    if (!next || next > now) {
      return { slot, coalesced: listed, coalescedCount: listed.length, complete: true };
    }
    if (listed.length >= listLimit) break;
    listed.push(slot);
    slot = next;
  }
  // `slot` is due and not listed; the latest due slot is at or after it.
  const latest = latestSlotAtOrBefore(cron, slot, now);
  return { slot: latest, coalesced: listed, coalescedCount: listed.length + 1, complete: false };
}

/**
 * The latest slot at or before `now`, given a slot `known` at or before it. nextRun(t) only grows
 * with t, so bisect for the last t whose next slot is still due; slots are whole seconds, so once
 * the bracket is a second wide its next slot is the latest.
 */
function latestSlotAtOrBefore(cron: Cron, known: Date, now: Date): Date {
  let low = known.getTime();
  let high = now.getTime();
  const nextOf = (ms: number) => cron.nextRun(new Date(ms));
  const first = nextOf(low);
  if (!first || first > now) return known;
  while (high - low > 1000) {
    const middle = Math.floor((low + high) / 2);
    const next = nextOf(middle);
    if (next && next <= now) low = middle;
    else high = middle;
  }
  return nextOf(low) ?? known;
}

/** What the scheduler keeps per schedule (a `schedule_cursors` row, parsed). */
export interface CursorState {
  fingerprint: string;
  handledThrough: string;
  pausedSeen: boolean;
}

/**
 * The instant after which a schedule's slots are still to be handled, and whether that is a new
 * start (a cursor to write). A schedule never seen (a new deployment, a new or changed cron) starts
 * at the deployment's last change, which is when it was set: no slot before it runs. A deployment
 * the scheduler saw paused starts again at its last change too (resuming is a change): the
 * slots of the pause are not caught up. Otherwise it goes on from the last handled slot, so the
 * slots missed while the controller was down are due, and run once.
 */
export function slotsAfter(
  cursor: CursorState | undefined,
  fingerprint: string,
  deploymentUpdatedAt: string,
): { after: Date; fresh: boolean } {
  const changedAt = new Date(deploymentUpdatedAt);
  if (!cursor || cursor.fingerprint !== fingerprint) return { after: changedAt, fresh: true };
  const handled = new Date(cursor.handledThrough);
  if (cursor.pausedSeen) {
    return { after: handled > changedAt ? handled : changedAt, fresh: true };
  }
  return { after: handled, fresh: false };
}

/** The first slot of any of the schedules after `after`; `null` when none has one. */
export function firstSlotAfter(schedules: readonly Schedule[], after: Date): Date | null {
  let first: Date | null = null;
  for (const schedule of schedules) {
    const slot = cronFor(schedule)?.nextRun(after) ?? null;
    if (slot && (!first || slot < first)) first = slot;
  }
  return first;
}

/** How far ahead the longest gap is looked for: a year and a bit sees every yearly pattern. */
const GAP_HORIZON_MS = 400 * 86_400_000;
/** Slots looked at per schedule: a few hundred croner calls, tens of milliseconds, once per cron. */
const GAP_SLOTS_PER_SCHEDULE = 400;
const GAP_CACHE_LIMIT = 2000;
const gaps = new Map<string, number | null>();

/**
 * The longest gap between two consecutive slots of the schedules together (ms), `null` without
 * schedules. Sampled from `from` on: up to a year and a bit, or GAP_SLOTS_PER_SCHEDULE slots per
 * schedule, whichever comes first. That is exact for the schedules backups use (hourly, daily,
 * weekdays, weekly, monthly); a minute-level cron with a gap beyond its first few hundred slots
 * (`* 9-17 * * 1-5`) reports a shorter gap, which only makes the doctor stricter. Cached per
 * set of schedules: the pattern, not the day, decides the gap (DST moves it by an hour).
 */
export function longestGapMs(schedules: readonly Schedule[], from: Date): number | null {
  const usable = schedules.filter((schedule) => cronFor(schedule) !== null);
  if (usable.length === 0) return null;
  const key = JSON.stringify(usable.map(scheduleFingerprint).sort());
  const cached = gaps.get(key);
  if (cached !== undefined) return cached;

  const end = from.getTime() + GAP_HORIZON_MS;
  const slots: number[] = [];
  // Each schedule's sample ends somewhere; past the earliest such end, the slots of the
  // schedules sampled further would be compared with nothing in between, so gaps stop there.
  let measuredUntil = Number.POSITIVE_INFINITY;
  for (const schedule of usable) {
    const cron = cronFor(schedule);
    let slot = cron?.nextRun(from) ?? null;
    let last = from.getTime();
    for (let count = 0; slot && count < GAP_SLOTS_PER_SCHEDULE; count++) {
      last = slot.getTime();
      slots.push(last);
      // Two slots at least, even past the horizon: a leap-day cron still has an interval.
      if (last > end && count >= 1) break;
      slot = cron?.nextRun(slot) ?? null;
    }
    measuredUntil = Math.min(measuredUntil, last);
  }
  const sorted = [...new Set(slots)].filter((slot) => slot <= measuredUntil).sort((a, b) => a - b);
  let gap: number | null = null;
  for (let index = 1; index < sorted.length; index++) {
    const current = sorted[index] - sorted[index - 1];
    if (gap === null || current > gap) gap = current;
  }
  if (gaps.size >= GAP_CACHE_LIMIT) gaps.clear();
  gaps.set(key, gap);
  return gap;
}
