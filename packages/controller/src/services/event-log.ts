import type { components } from "@stowage/control-server";
import type { EventRow, EventsStore } from "../store/events-store";
import type { EventHub } from "./event-hub";
import { newId, nowIso } from "./identifiers";

export type StreamEventFrame = components["schemas"]["StreamEventFrame"];
export type Severity = StreamEventFrame["severity"];

export interface EventInput {
  tenantId: string;
  deploymentId: string | null;
  jobId?: string | null;
  op: string;
  severity?: Severity;
  /** Ids by resource; `deployment` and `job` are filled in from the ids above. */
  subject?: Record<string, string>;
  /** The op's data: never a secret. */
  body?: Record<string, unknown>;
  at?: string;
}

/** The ops that end a job: a job stream's last frame is one of these, with `final: true`. */
export const OUTCOME_OPS: ReadonlySet<string> = new Set([
  "backup_completed",
  "verify_completed",
  "restore_completed",
  "backup_files_removed",
  "job_failed",
  "job_cancelled",
]);

/**
 * Appends events and tells the hub. `record` must run inside the caller's transaction, so a job
 * transition and its event commit together; the hub hears of it once the transaction is done.
 */
export class EventLog {
  constructor(
    private readonly store: EventsStore,
    private readonly hub: EventHub,
  ) {}

  record(input: EventInput): EventRow {
    const row = this.store.insert({
      public_id: newId("evt"),
      tenant_id: input.tenantId,
      deployment_id: input.deploymentId,
      job_id: input.jobId ?? null,
      op: input.op,
      severity: input.severity ?? "info",
      subject: JSON.stringify({
        ...(input.deploymentId ? { deployment: input.deploymentId } : {}),
        ...(input.jobId ? { job: input.jobId } : {}),
        ...input.subject,
      }),
      body: JSON.stringify(input.body ?? {}),
      at: input.at ?? nowIso(),
    });
    this.hub.publish({ type: "event", event: row });
    return row;
  }

  /** Tells follow streams of the job's logs that lines were appended. */
  logsAppended(tenantId: string, jobId: string): void {
    this.hub.publish({ type: "log", tenantId, jobId });
  }
}

export function presentEvent(row: EventRow, final = false): StreamEventFrame {
  return {
    schema: "stowage.v1",
    id: row.public_id,
    severity: row.severity as Severity,
    op: row.op,
    subject: JSON.parse(row.subject) as Record<string, string>,
    body: JSON.parse(row.body) as Record<string, unknown>,
    at: row.at,
    ...(final ? { final: true } : {}),
  };
}

/** A frame that is not stored: a replay's `stream_end`, or the end of a stream at shutdown. */
export function streamEndFrame(
  subject: Record<string, string>,
  body: Record<string, unknown>,
): StreamEventFrame {
  return {
    schema: "stowage.v1",
    severity: "info",
    op: "stream_end",
    subject,
    body,
    at: nowIso(),
    final: true,
  };
}
