import type { EventRow } from "../store/events-store";

/**
 * What the hub tells subscribers. A message is a hint that something was committed, not the
 * thing itself: streams read the store after a hint, so a hint sent for a transaction that then
 * rolled back costs a read and nothing else.
 */
export type HubMessage =
  | { type: "event"; event: EventRow }
  | { type: "log"; tenantId: string; jobId: string }
  | { type: "shutdown" };

export type HubListener = (message: HubMessage) => void;

/**
 * In-process fan-out of committed events and log lines to open streams (follow streams, NDJSON
 * takes, long polls). Publishing is deferred to a microtask: better-sqlite3 transactions are
 * synchronous, so by then the transaction that recorded the event has committed, and a
 * subscriber that reads the store sees it.
 */
export class EventHub {
  private readonly listeners = new Set<HubListener>();
  private pending: HubMessage[] = [];
  private closed = false;

  /** Adds a listener; call the returned function to remove it (idempotent). */
  subscribe(listener: HubListener): () => void {
    if (this.closed) {
      queueMicrotask(() => listener({ type: "shutdown" }));
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** How many streams are listening: tests check a client that left was unsubscribed. */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  publish(message: HubMessage): void {
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push(message);
  }

  /** Tells every stream the server is stopping, so each ends with its final frame. */
  close(): void {
    this.closed = true;
    this.deliver({ type: "shutdown" });
  }

  private flush(): void {
    const messages = this.pending;
    this.pending = [];
    for (const message of messages) this.deliver(message);
  }

  private deliver(message: HubMessage): void {
    // A copy: a listener may unsubscribe (or subscribe another) while being told.
    for (const listener of [...this.listeners]) {
      try {
        listener(message);
      } catch {
        // One broken stream must not keep the others from hearing about the event.
      }
    }
  }
}
