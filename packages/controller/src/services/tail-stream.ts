import type { EventHub, HubMessage } from "./event-hub";

/** What a stream reads and how it ends; `TailStream` does the rest. */
export interface TailSource<Row, Frame> {
  /** Stored rows after the cursor, oldest first, at most `limit`. */
  read(afterId: number, limit: number): Row[];
  idOf(row: Row): number;
  /** The frame for a row; `final` marks the stream's last frame. */
  frame(row: Row, final: boolean): Frame;
  /** A row after which nothing more comes (a job's outcome): sent as the final frame. */
  ends?(row: Row): boolean;
  /**
   * Called when every stored row has been sent: the final frame if the stream ends now (always
   * without `follow`; with it, once the job is over), or `undefined` to wait for more.
   */
  caughtUp(): Frame | undefined;
  /** Whether a hub message may concern this stream; `true` only means "read the store again". */
  concerns(message: HubMessage): boolean;
  /** The final frame when the server shuts down. */
  shutdown(): Frame;
  /** A failure as the stream's last frame; absent or `undefined` rethrows it for the router's error frame. */
  failure?(error: unknown): Frame | undefined;
}

const BATCH = 500;

/**
 * An NDJSON stream of stored rows, then (with follow) live ones as the hub reports them: no
 * polling loop, a wait on the hub between reads. Rows are always read from the store after a
 * cursor, so nothing is sent twice or skipped however hints and reads interleave.
 *
 * Written as an iterator object rather than an async generator on purpose: the router's NDJSON
 * writer calls `return()` when the client goes away, and a generator parked in an `await` would
 * only see that call once another event arrived (maybe never), leaving its hub subscription
 * behind. Here `return()` unsubscribes at once and wakes a parked `next()`.
 */
export class TailStream<Row, Frame> implements AsyncIterableIterator<Frame> {
  private state: "idle" | "open" | "ending" | "done" = "idle";
  private readonly buffer: Frame[] = [];
  private unsubscribe: (() => void) | undefined;
  private wake: (() => void) | undefined;
  /** Something may have been committed since the last read. */
  private dirty = true;
  private stopping = false;

  constructor(
    private readonly hub: EventHub,
    private readonly source: TailSource<Row, Frame>,
    private cursor = 0,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Frame>> {
    for (;;) {
      const frame = this.buffer.shift();
      if (frame !== undefined) return { value: frame, done: false };
      if (this.state === "done") return { value: undefined, done: true };
      if (this.state === "ending") {
        this.close();
        return { value: undefined, done: true };
      }
      if (this.state === "idle") this.open();
      try {
        if (this.fill()) continue;
      } catch (error) {
        const last = this.source.failure?.(error);
        if (last === undefined) {
          this.close();
          throw error;
        }
        this.finish(last);
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<Frame>> {
    this.close();
    return { value: undefined, done: true };
  }

  private open(): void {
    this.state = "open";
    this.unsubscribe = this.hub.subscribe((message) => {
      if (message.type === "shutdown") this.stopping = true;
      else if (this.source.concerns(message)) this.dirty = true;
      else return;
      this.wake?.();
    });
  }

  /** Buffers what can be sent now; false when the stream has to wait for the hub. */
  private fill(): boolean {
    if (this.dirty) {
      this.dirty = false;
      const rows = this.source.read(this.cursor, BATCH);
      // A full batch may have more behind it: read again before waiting.
      if (rows.length === BATCH) this.dirty = true;
      for (const row of rows) {
        this.cursor = this.source.idOf(row);
        if (this.source.ends?.(row)) {
          this.finish(this.source.frame(row, true));
          return true;
        }
        this.buffer.push(this.source.frame(row, false));
      }
      if (rows.length > 0) return true;
    }
    if (this.stopping) {
      this.finish(this.source.shutdown());
      return true;
    }
    const last = this.source.caughtUp();
    if (last !== undefined) {
      this.finish(last);
      return true;
    }
    return false;
  }

  private finish(frame: Frame): void {
    this.buffer.push(frame);
    this.state = "ending";
    // Nothing after the final frame needs the hub.
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private close(): void {
    this.state = "done";
    this.buffer.length = 0;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.wake?.();
  }
}
