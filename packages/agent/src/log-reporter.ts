import { randomUUID } from "node:crypto";
import type { AgentClient, components } from "@stowage/agent-client";
import type { AgentLogger, LogLevel } from "./agent-logger";

type Log = components["schemas"]["Log"];

const FLUSH_INTERVAL_MS = 1000;
const MAX_BUFFERED_LINES = 500;

/**
 * The log of one job run: each line goes to the local logger at once and, batched, to the
 * controller's log endpoint as NDJSON with `run` = the job id, which is how the controller files
 * it under the job. Each batch carries its own `Idempotency-Key`, so the client's retry of a
 * batch whose answer was lost is stored once. Shipping logs never fails the job itself.
 */
export class JobLog {
  private buffer: Log[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: AgentClient,
    private readonly instance: string,
    private readonly run: string,
    private readonly local: AgentLogger,
  ) {}

  line(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
    this.local.log(level, message, { job: this.run, ...fields });
    this.buffer.push({
      run: this.run,
      timestamp: new Date().toISOString(),
      level,
      fields,
      message,
    });
    if (this.buffer.length >= MAX_BUFFERED_LINES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Sends what is buffered; resolves once every batch so far has been sent (or given up). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length > 0) this.sending = this.sending.then(() => this.send(batch));
    return this.sending;
  }

  private async send(batch: Log[]): Promise<void> {
    try {
      const { response, error } = await this.client.uploadNdjson(
        "post",
        "/engines/telemetry/{instance}/log",
        {
          params: { path: { instance: this.instance } },
          headers: { "idempotency-key": randomUUID() },
          items: () => batch,
        },
      );
      if (!response.ok) {
        this.local.log("warn", "log lines were refused", { status: response.status, error });
      }
    } catch (error) {
      this.local.log("warn", "could not send log lines", { error: String(error) });
    }
  }
}
