/**
 * Where the scheduler and the doctor get the time and their timer. Injected so tests can move
 * time by hours in a millisecond instead of waiting for real slots.
 */
export interface Clock {
  now(): Date;
  /**
   * Calls `callback` once, `delayMs` from now on this clock; answers a function that cancels it.
   * A timer must not keep the process alive: a stopped controller exits without waiting for it.
   */
  setTimer(callback: () => void, delayMs: number): () => void;
}

/** Node's timers never wait longer than this; a longer delay fires at once, so it is capped. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMEOUT_MS));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
