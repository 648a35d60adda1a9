import type { components } from "@stowage/control-server";
import type { EventRow } from "../store/events-store";
import type { JobLogRow, JobRow } from "../store/jobs-store";
import type { Stores } from "./control-context";
import { OUTCOME_OPS, presentEvent, streamEndFrame, type StreamEventFrame } from "./event-log";
import { nowIso } from "./identifiers";
import { isFinished } from "./jobs-service";
import { TailStream } from "./tail-stream";

export type StreamEvent = components["schemas"]["StreamEvent"];
export type LogLine = components["schemas"]["LogLine"];
/** What a job stream needs of its job: a row or a view. */
type JobRef = Pick<JobRow, "id" | "tenant_id" | "deployment_id">;

/**
 * A job's events, oldest first. Without `follow`: the stored ones, then `stream_end` (or the
 * outcome frame, final, if the job has ended). With it: then live ones until the outcome.
 */
export function jobEventStream(
  stores: Stores,
  job: JobRef,
  follow: boolean,
): AsyncIterableIterator<StreamEvent> {
  const subject = { deployment: job.deployment_id, job: job.id };
  let sent = 0;
  return new TailStream<EventRow, StreamEventFrame>(stores.eventHub, {
    read: (after, limit) => stores.events.ofJob(job.id, after, limit),
    idOf: (row) => row.id,
    frame: (row, final) => {
      sent++;
      return presentEvent(row, final);
    },
    ends: (row) => OUTCOME_OPS.has(row.op),
    caughtUp: () => {
      if (!follow) return streamEndFrame(subject, { events: sent });
      // Ended without an outcome event in store (forgotten meanwhile): nothing more will come.
      const current = stores.jobs.byId(job.id, job.tenant_id);
      return !current || isFinished(current.status)
        ? streamEndFrame(subject, { events: sent, status: current?.status ?? "DELETED" })
        : undefined;
    },
    concerns: (message) => message.type === "event" && message.event.job_id === job.id,
    shutdown: () => streamEndFrame(subject, { events: sent, reason: "the server is stopping" }),
  });
}

/**
 * A job's log lines (databacker's `Log`), oldest first, ending with a `final` line that names
 * the job's status once it has ended. A failure ends the stream with a line carrying `error`:
 * the router's error frame is an event frame, which a log stream cannot carry.
 */
export function jobLogStream(
  stores: Stores,
  job: JobRef,
  follow: boolean,
  requestId: string,
): AsyncIterableIterator<LogLine> {
  const finalLine = (message: string): LogLine => {
    const current = stores.jobs.byId(job.id, job.tenant_id);
    return {
      run: job.id,
      timestamp: nowIso(),
      level: "info",
      fields: current ? { status: current.status } : {},
      message,
      final: true,
    };
  };
  return new TailStream<JobLogRow, LogLine>(stores.eventHub, {
    read: (after, limit) => stores.jobs.logsAfter(job.id, after, limit),
    idOf: (row) => row.id,
    frame: (row) => ({
      run: job.id,
      timestamp: row.at,
      level: row.level as LogLine["level"],
      fields: JSON.parse(row.fields) as Record<string, unknown>,
      message: row.message,
    }),
    caughtUp: () => {
      const current = stores.jobs.byId(job.id, job.tenant_id);
      return !follow || !current || isFinished(current.status)
        ? finalLine("end of log")
        : undefined;
    },
    // An event of the job may be its end, which ends a follow stream once the lines are read.
    concerns: (message) =>
      (message.type === "log" && message.jobId === job.id) ||
      (message.type === "event" && message.event.job_id === job.id),
    shutdown: () => finalLine("the server is stopping"),
    failure: () => ({
      run: job.id,
      timestamp: nowIso(),
      level: "error",
      message: "The log stream failed; the job goes on.",
      final: true,
      error: {
        code: "internal",
        message: "The log stream failed; the job goes on.",
        suggestion: {
          human: "Reconnect to the job's log stream.",
          command: `stowage jobs logs ${job.id} --follow`,
        },
        request_id: requestId,
      },
    }),
  });
}

export interface EventFilter {
  tenantId: string;
  since: string;
  deploymentId?: string;
  op?: string;
}

/**
 * A tenant's events from `since`, oldest first, then (with `follow`) live ones; ends with
 * `stream_end` without `follow`, or when the server stops.
 */
export function tenantEventStream(
  stores: Stores,
  filter: EventFilter,
  follow: boolean,
): AsyncIterableIterator<StreamEvent> {
  let sent = 0;
  return new TailStream<EventRow, StreamEventFrame>(
    stores.eventHub,
    {
      read: (after, limit) =>
        stores.events.page({
          tenantId: filter.tenantId,
          afterId: after,
          limit,
          since: filter.since,
          deploymentId: filter.deploymentId,
          op: filter.op,
        }),
      idOf: (row) => row.id,
      frame: (row, final) => {
        sent++;
        return presentEvent(row, final);
      },
      caughtUp: () => (follow ? undefined : streamEndFrame({}, { events: sent })),
      concerns: (message) =>
        message.type === "event" &&
        message.event.tenant_id === filter.tenantId &&
        (filter.deploymentId === undefined ||
          message.event.deployment_id === filter.deploymentId) &&
        (filter.op === undefined || message.event.op === filter.op),
      shutdown: () => streamEndFrame({}, { events: sent, reason: "the server is stopping" }),
    },
    stores.events.idBefore(filter.since),
  );
}
