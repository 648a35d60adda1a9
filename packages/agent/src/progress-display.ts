/** Where a display writes: stderr, or a test's in-memory stream. */
export interface DisplayOutput {
  write(text: string): unknown;
  /** True on a terminal: one line updated in place. Otherwise plain lines. */
  isTTY?: boolean;
  /** A terminal's width: the live line is cut to fit, so it never wraps (a wrapped line cannot be redrawn). */
  columns?: number;
}

export interface ProgressDisplayOptions {
  /** For `NO_COLOR` (https://no-color.org): set and not empty, no colour. */
  env?: NodeJS.ProcessEnv;
  /** The clock, in milliseconds (tests pass their own). */
  now?: () => number;
  /** On a terminal: the fewest milliseconds between two redraws for byte counts. */
  redrawMs?: number;
  /** Off a terminal: the fewest milliseconds between two byte-count lines within one phase. */
  plainLineMs?: number;
  /** On a terminal: redraw this often while nothing reports, so the elapsed time moves. 0: never. */
  tickMs?: number;
}

export type Outcome = "done" | "failed" | "cancelled" | "interrupted";

const COLORS: Record<Outcome, string> = {
  done: "\x1b[32m",
  failed: "\x1b[31m",
  cancelled: "\x1b[33m",
  interrupted: "\x1b[33m",
};
const RESET_COLOR = "\x1b[39m";
/** Back to the start of the line, then erase to its end. */
const CLEAR_LINE = "\r\x1b[K";

/** A rate is shown once a phase has run this long: before, it is noise. */
const MIN_RATE_WINDOW_MS = 1000;

interface Task {
  label: string;
  startedAt: number;
  phase?: string;
  phaseStartedAt: number;
  bytes?: number;
  lastDrawAt: number;
  lastPlainLineAt: number;
}

/**
 * Progress of long work for a person watching: the phase, the bytes so far and the rate, from the
 * updates the pipelines emit (`onBytes`, phase callbacks). On a terminal, one line rewritten in
 * place (throttled, and ticking so the elapsed time moves); elsewhere (a pipe, a file, journald)
 * plain lines, one per phase change and at most one every `plainLineMs` with the byte count, and
 * never a control character. One task at a time: `begin`, `update`s, `end`.
 */
export class ProgressDisplay {
  private readonly tty: boolean;
  private readonly color: boolean;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly plainLineMs: number;
  private readonly tickMs: number;
  private task: Task | undefined;
  /** A live line is on the terminal now. */
  private shown = false;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: DisplayOutput,
    options: ProgressDisplayOptions = {},
  ) {
    this.tty = out.isTTY === true;
    this.color = this.tty && !(options.env ?? process.env).NO_COLOR;
    this.now = options.now ?? Date.now;
    this.redrawMs = options.redrawMs ?? 250;
    this.plainLineMs = options.plainLineMs ?? 10_000;
    this.tickMs = options.tickMs ?? 1000;
  }

  /** Starts showing a task, e.g. `backup app-db`. */
  begin(label: string): void {
    this.stopTicker();
    this.clear();
    const at = this.now();
    this.task = { label, startedAt: at, phaseStartedAt: at, lastDrawAt: at, lastPlainLineAt: at };
    if (this.tty && this.tickMs > 0) {
      this.ticker = setInterval(() => {
        if (this.task?.phase !== undefined && this.now() - this.task.lastDrawAt >= this.tickMs) {
          this.draw(this.task);
        }
      }, this.tickMs);
      this.ticker.unref();
    }
  }

  /** A phase started, or a phase moved on to `bytes` bytes. */
  update(phase: string, bytes?: number): void {
    const task = this.task;
    if (!task) return;
    const at = this.now();
    const changed = phase !== task.phase;
    if (changed) {
      task.phase = phase;
      task.phaseStartedAt = at;
    }
    task.bytes = bytes;
    if (this.tty) {
      if (changed || at - task.lastDrawAt >= this.redrawMs) this.draw(task);
    } else if (changed || (bytes !== undefined && at - task.lastPlainLineAt >= this.plainLineMs)) {
      task.lastPlainLineAt = at;
      this.out.write(`${this.progressText(task)}\n`);
    }
  }

  /** Ends the task with a last line, e.g. `backup app-db: done after 2.1 s, 12.0 MiB stored`. */
  end(outcome: Outcome, detail?: string): void {
    const task = this.task;
    if (!task) return;
    this.stopTicker();
    this.clear();
    this.task = undefined;
    const word = this.color ? `${COLORS[outcome]}${outcome}${RESET_COLOR}` : outcome;
    const elapsed = formatDuration(this.now() - task.startedAt);
    this.out.write(
      `${clean(task.label)}: ${word} after ${elapsed}${detail ? `, ${clean(detail)}` : ""}\n`,
    );
  }

  /**
   * Writes something else to the same terminal (a log line on stdout) without garbling the live
   * line: it is erased first and drawn again below. Off a terminal, just writes.
   */
  aside(write: () => void): void {
    if (!this.shown || !this.task) {
      write();
      return;
    }
    this.clear();
    write();
    this.draw(this.task);
  }

  private draw(task: Task): void {
    let text = `${this.progressText(task)} [${formatDuration(this.now() - task.startedAt)}]`;
    if (this.out.columns && text.length > this.out.columns - 1) {
      text = text.slice(0, Math.max(0, this.out.columns - 1));
    }
    this.out.write(`${CLEAR_LINE}${text}`);
    this.shown = true;
    task.lastDrawAt = this.now();
  }

  private clear(): void {
    if (!this.shown) return;
    this.out.write(CLEAR_LINE);
    this.shown = false;
  }

  private progressText(task: Task): string {
    let text = `${clean(task.label)}: ${clean(task.phase ?? "start")}`;
    if (task.bytes !== undefined) {
      text += ` ${formatBytes(task.bytes)}`;
      const window = this.now() - task.phaseStartedAt;
      if (window >= MIN_RATE_WINDOW_MS) {
        text += ` at ${formatBytes(Math.round((task.bytes * 1000) / window))}/s`;
      }
    }
    return text;
  }

  private stopTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}

/** Phase updates go to `display` as well as to `sink` (the controller's progress reports). */
export function alsoDisplayed<T>(
  sink: { update(phase: string, bytes?: number): T },
  display: ProgressDisplay | undefined,
): { update(phase: string, bytes?: number): T } {
  if (!display) return sink;
  return {
    update(phase, bytes) {
      display.update(phase, bytes);
      return sink.update(phase, bytes);
    },
  };
}

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/** `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `0.4 s`, `42 s`, `3 min 07 s`, `2 h 05 min`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** Text from elsewhere (a label, a location) cannot move the cursor or start an escape sequence. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}
