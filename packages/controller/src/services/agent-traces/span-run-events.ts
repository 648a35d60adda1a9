import { createHash } from "node:crypto";
import type { components } from "@stowage/agent-server";
import type {
  IngestedAgentEvent,
  RunSucceededWithoutDigest,
} from "../agent-events/agent-events-service";
import type { DecodedSpan, SpanAttribute } from "./decode-trace-export";

type Schemas = components["schemas"];
type PhaseFinished = Schemas["PhaseFinishedEvent"];
type RunFailed = Schemas["RunFailedEvent"];

export interface SpanRunEvents {
  /**
   * A success carries no checksum (the convention has none) and a size only when the `run` span
   * or an `upload` span of the same export has one: the events service fills it from the phases.
   */
  events: IngestedAgentEvent[];
  /** Spans of a run that could not become events (an unusable phase name, say), with why. */
  rejected: { count: number; reasons: string[] };
}

/** The databacker backup span convention's attribute keys (reference `BackupAttributeKey`). */
const ATTR = {
  runId: "backup.run_id",
  phase: "backup.phase",
  status: "backup.status",
  bytes: "backup.bytes",
  exitCode: "backup.exit_code",
  message: "backup.event.message",
  targetName: "backup.target.name",
  targetUrl: "backup.target.url",
  otelStatusCode: "otel.status_code",
  otelStatusDescription: "otel.status_description",
} as const;

const OTLP_STATUS_ERROR = 2;
const PHASE = /^[a-z][a-z0-9_ -]*$/;
const TARGET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_ID_LENGTH = 64;
/** Phases that only a restore run has (reference `BackupSpanName`). */
const RESTORE_PHASES = new Set([
  "restore",
  "pre-restore",
  "post-restore",
  "pull file",
  "input_tar",
  "database_restore",
]);

interface RunSpans {
  runId: string;
  traceId: string;
  root?: DecodedSpan;
  phases: { span: DecodedSpan; phase: string }[];
}

/**
 * Spans that follow the databacker backup span convention to the agent API's run events. A span
 * belongs to a run by its `backup.run_id`, or, lacking one, by a span of the same trace that has
 * one. The `run` span (or `backup.phase` `complete`) is the run itself: `run.started`, then
 * `run.succeeded` or `run.failed` by its status; every other span of the run is a phase:
 * `phase.started` and `phase.finished`. Spans of no run are not the convention's and map to
 * nothing.
 *
 * Event ids are derived from the trace, the span and the event kind, so exporting the same spans
 * again yields the same ids and the event store counts them once. `run.started` is keyed by the
 * run rather than a span: an exporter sends each span when it ends, so a run's phases usually
 * arrive before its `run` span, and whichever export comes first starts the run.
 */
export function spansToRunEvents(spans: readonly DecodedSpan[]): SpanRunEvents {
  const reasons = new Map<string, number>();
  const reject = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  const runs = groupByRun(spans, reject);
  const events = [...runs.values()].flatMap((run) => runEvents(run));
  let count = 0;
  for (const n of reasons.values()) count += n;
  return {
    events,
    rejected: { count, reasons: [...reasons].map(([reason, n]) => `${n} spans ${reason}`) },
  };
}

function groupByRun(
  spans: readonly DecodedSpan[],
  reject: (reason: string) => void,
): Map<string, RunSpans> {
  const traceRunIds = new Map<string, string>();
  for (const span of spans) {
    const runId = stringAttribute(span, ATTR.runId);
    // The run span's id names the trace's run; another span's only when the trace has no run span.
    if (runId && (isRunSpan(span) || !traceRunIds.has(span.traceId)))
      traceRunIds.set(span.traceId, runId);
  }
  const runs = new Map<string, RunSpans>();
  for (const span of spans) {
    const runId = stringAttribute(span, ATTR.runId) ?? traceRunIds.get(span.traceId);
    if (runId === undefined) continue;
    if (runId.length > MAX_ID_LENGTH) {
      reject(`had a backup.run_id longer than ${MAX_ID_LENGTH} characters`);
      continue;
    }
    const root = isRunSpan(span);
    const phase = root ? undefined : phaseOf(span);
    if (!root && !phase) {
      reject(`had a phase that is not a phase name (${PHASE.source}, at most 64 characters)`);
      continue;
    }
    const key = `${span.traceId}/${runId}`;
    const run = runs.get(key) ?? { runId, traceId: span.traceId, phases: [] };
    runs.set(key, run);
    if (phase) run.phases.push({ span, phase });
    else run.root = span;
  }
  return runs;
}

function runEvents(run: RunSpans): IngestedAgentEvent[] {
  let started = run.root?.startNanos ?? run.phases[0].span.startNanos;
  for (const { span } of run.phases) if (span.startNanos < started) started = span.startNanos;
  const restore = run.phases.some(({ phase }) => RESTORE_PHASES.has(phase));
  const events: IngestedAgentEvent[] = [
    {
      id: eventId(run.traceId, run.runId, "run.started"),
      type: "run.started",
      run: run.runId,
      at: rfc3339(started),
      operation: restore ? "restore" : "backup",
    },
  ];
  // In time order; at one instant, phases that ended before phases that start, and a phase's
  // start before its own end: (time, start of its span, finish after start, span id).
  const phaseEvents = run.phases
    .flatMap(({ span, phase }) =>
      phaseEventsOf(run.runId, span, phase).map((event) => ({
        event,
        key: [
          event.type === "phase.started" ? span.startNanos : span.endNanos,
          span.startNanos,
          event.type === "phase.started" ? 0n : 1n,
        ],
        spanId: span.spanId,
      })),
    )
    .sort((a, b) => compareKeys(a.key, b.key) || (a.spanId < b.spanId ? -1 : 1))
    .map(({ event }) => event);
  events.push(...phaseEvents);
  if (run.root) events.push(runEnd(run, run.root));
  return events;
}

function phaseEventsOf(run: string, span: DecodedSpan, phase: string): IngestedAgentEvent[] {
  const failed = isError(span);
  const bytes = nonNegativeInteger(span, ATTR.bytes);
  const target = stringAttribute(span, ATTR.targetName);
  const message = failed ? errorMessage(span) : stringAttribute(span, ATTR.message);
  const finished: PhaseFinished = {
    id: eventId(span.traceId, span.spanId, "phase.finished"),
    type: "phase.finished",
    run,
    at: rfc3339(span.endNanos),
    phase,
    status: failed ? "error" : "ok",
    duration_ms: durationMs(span),
    ...(bytes !== undefined && { bytes }),
    ...(target !== undefined && TARGET_NAME.test(target) && { target }),
    ...(message !== undefined && { message }),
  };
  return [
    {
      id: eventId(span.traceId, span.spanId, "phase.started"),
      type: "phase.started",
      run,
      at: rfc3339(span.startNanos),
      phase,
    },
    finished,
  ];
}

function runEnd(run: RunSpans, root: DecodedSpan): RunSucceededWithoutDigest | RunFailed {
  const common = { run: run.runId, at: rfc3339(root.endNanos), duration_ms: durationMs(root) };
  if (isError(root)) {
    // The first phase to fail; those after it failed because of it, as a rule.
    const failedPhase = run.phases
      .filter(({ span }) => isError(span))
      .reduce<RunSpans["phases"][number] | undefined>(
        (first, entry) => (!first || entry.span.endNanos < first.span.endNanos ? entry : first),
        undefined,
      )?.phase;
    const exitCode = nonNegativeInteger(root, ATTR.exitCode);
    return {
      id: eventId(root.traceId, root.spanId, "run.failed"),
      type: "run.failed",
      ...common,
      message:
        errorMessage(root) ??
        (failedPhase ? `The ${failedPhase} phase failed.` : "The run failed."),
      ...(failedPhase !== undefined && { phase: failedPhase }),
      ...(exitCode !== undefined && { exit_code: exitCode }),
    };
  }
  const bytes = nonNegativeInteger(root, ATTR.bytes) ?? largestUploadBytes(run);
  const location = run.phases
    .filter(({ phase }) => phase === "upload")
    .map(({ span }) => stringAttribute(span, ATTR.targetUrl))
    .find((url) => url !== undefined);
  return {
    id: eventId(root.traceId, root.spanId, "run.succeeded"),
    type: "run.succeeded",
    ...common,
    ...(bytes !== undefined && { bytes }),
    ...(location !== undefined && { location }),
  };
}

/** Each target gets its own `upload` span carrying the same artifact, so the size is the largest. */
function largestUploadBytes(run: RunSpans): number | undefined {
  const sizes = run.phases
    .filter(({ phase }) => phase === "upload")
    .map(({ span }) => nonNegativeInteger(span, ATTR.bytes))
    .filter((bytes): bytes is number => bytes !== undefined);
  return sizes.length > 0 ? Math.max(...sizes) : undefined;
}

function compareKeys(a: bigint[], b: bigint[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

function isRunSpan(span: DecodedSpan): boolean {
  return span.name === "run" || stringAttribute(span, ATTR.phase) === "complete";
}

/**
 * `backup.phase`, or the span name; `pruneTarget <url>` spans are the `pruneTarget` phase, and
 * camelCase becomes snake_case because the agent API's phase names are lower case.
 */
function phaseOf(span: DecodedSpan): string | undefined {
  const raw = stringAttribute(span, ATTR.phase) ?? span.name;
  const phase = (raw.startsWith("pruneTarget") ? "pruneTarget" : raw).replace(
    /[A-Z]/g,
    (letter) => `_${letter.toLowerCase()}`,
  );
  return PHASE.test(phase) && phase.length <= MAX_ID_LENGTH ? phase : undefined;
}

/** Failed by any of the convention's three signals; `backup.status` alone may still say `running`. */
function isError(span: DecodedSpan): boolean {
  return (
    stringAttribute(span, ATTR.status) === "error" ||
    stringAttribute(span, ATTR.otelStatusCode) === "ERROR" ||
    span.statusCode === OTLP_STATUS_ERROR
  );
}

function errorMessage(span: DecodedSpan): string | undefined {
  return (
    stringAttribute(span, ATTR.message) ??
    stringAttribute(span, ATTR.otelStatusDescription) ??
    span.statusMessage
  );
}

function stringAttribute(span: DecodedSpan, key: string): string | undefined {
  const value: SpanAttribute | undefined = span.attributes.get(key);
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Sizes and exit codes: databacker sends `Int64`, some SDKs a numeric string. */
function nonNegativeInteger(span: DecodedSpan, key: string): number | undefined {
  const value = span.attributes.get(key);
  const count = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof count === "number" && Number.isSafeInteger(count) && count >= 0 ? count : undefined;
}

function durationMs(span: DecodedSpan): number {
  return Number((span.endNanos - span.startNanos) / 1_000_000n);
}

function rfc3339(nanos: bigint): string {
  return new Date(Number(nanos / 1_000_000n)).toISOString();
}

/** The agent API's `EventId` alphabet and length: base64url of a SHA-256, prefixed by its origin. */
function eventId(traceId: string, key: string, kind: string): string {
  return `otlp_${createHash("sha256").update(`${traceId}/${key}/${kind}`).digest("base64url")}`;
}
