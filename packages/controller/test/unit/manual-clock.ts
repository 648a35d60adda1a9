import type { Clock } from "../../src/services/clock";

interface PendingTimer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * A clock that moves only when told: `advanceTo` walks to the target, firing each timer at its
 * own time, in order, as real time would (a timer armed by a firing timer fires too if due).
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private nextId = 1;

  constructor(start: string | Date) {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  setTimer(callback: () => void, delayMs: number): () => void {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, delayMs), callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((pending) => pending !== timer);
    };
  }

  /** How many timers are armed: the scheduler keeps exactly one while it runs. */
  get pending(): number {
    return this.timers.length;
  }

  /** When the earliest armed timer fires, if any. */
  get nextTimerAt(): Date | undefined {
    const next = this.earliest();
    return next ? new Date(next.at) : undefined;
  }

  advance(ms: number): void {
    this.advanceTo(new Date(this.current + ms));
  }

  advanceTo(target: string | Date): void {
    const end = new Date(target).getTime();
    // A bound on firings: a timer that re-arms itself at 0 ms would otherwise never let time move.
    for (let fired = 0; fired < 100_000; fired++) {
      const next = this.earliest();
      if (!next || next.at > end) {
        this.current = Math.max(this.current, end);
        return;
      }
      this.timers = this.timers.filter((pending) => pending !== next);
      this.current = Math.max(this.current, next.at);
      next.callback();
    }
    throw new Error("timers kept re-arming without letting time move");
  }

  private earliest(): PendingTimer | undefined {
    let earliest: PendingTimer | undefined;
    for (const timer of this.timers) {
      if (
        !earliest ||
        timer.at < earliest.at ||
        (timer.at === earliest.at && timer.id < earliest.id)
      )
        earliest = timer;
    }
    return earliest;
  }
}
