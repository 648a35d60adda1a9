import type { AgentClient } from "@stowage/agent-client";
import type { AgentLogger } from "./agent-logger";

const MIN_INTERVAL_MS = 2000;

/**
 * Progress reports of one job: throttled (a byte counter moves per chunk), sent one at a time
 * in order with `seq` 0, 1, 2... (the controller's deduplication key, so a retried report is
 * stored once), and repeated as a heartbeat while a phase makes no visible progress, because
 * each report extends the job's lease. A 409 answer means the job was cancelled or its lease
 * went to another attempt: `onCancelled` fires and nothing more is sent.
 */
export class ProgressReporter {
  cancelled = false;
  phase = "start";
  private seq = 0;
  private lastSentAt = 0;
  private bytesDone: number | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly client: AgentClient,
    private readonly instance: string,
    private readonly job: string,
    private readonly local: AgentLogger,
    private readonly onCancelled: () => void,
    heartbeatMs: number,
  ) {
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastSentAt >= heartbeatMs) void this.send();
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  /** Records the phase and byte count; sends now on a phase change, else at most every 2 s. */
  update(phase: string, bytesDone?: number): Promise<void> {
    const changed = phase !== this.phase;
    this.phase = phase;
    this.bytesDone = bytesDone;
    if (changed || Date.now() - this.lastSentAt >= MIN_INTERVAL_MS) return this.send();
    return this.queue;
  }

  stop(): Promise<void> {
    clearInterval(this.heartbeat);
    return this.queue;
  }

  private send(): Promise<void> {
    if (this.cancelled) return this.queue;
    this.lastSentAt = Date.now();
    const body = {
      seq: this.seq++,
      at: new Date().toISOString(),
      phase: this.phase,
      ...(this.bytesDone !== undefined ? { bytes_done: this.bytesDone } : {}),
    };
    this.queue = this.queue.then(async () => {
      if (this.cancelled) return;
      try {
        const { response } = await this.client.POST("/engines/jobs/{instance}/{job}/progress", {
          params: { path: { instance: this.instance, job: this.job } },
          body,
        });
        if (response.status === 409) {
          this.cancelled = true;
          clearInterval(this.heartbeat);
          this.onCancelled();
        } else if (!response.ok) {
          this.local.log("warn", "progress report refused", {
            job: this.job,
            status: response.status,
          });
        }
      } catch (error) {
        this.local.log("warn", "could not report progress", {
          job: this.job,
          error: String(error),
        });
      }
    });
    return this.queue;
  }
}
