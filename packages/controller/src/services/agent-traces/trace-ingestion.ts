import type { AgentEventsService } from "../agent-events/agent-events-service";
import type { AgentPrincipal } from "../agent-principal";
import { decodeTraceExport, type TraceExportBody } from "./decode-trace-export";
import type { OtlpPartialSuccess } from "./otlp-definitions";
import { spansToRunEvents } from "./span-run-events";

/** Where run events go: the agent events service, which stores each event id once. */
export type RunEventSink = Pick<AgentEventsService, "ingestAgentEvents">;

/**
 * One OTLP trace export from an agent: decoded, its convention spans turned into run events and
 * handed on in one call (so one transaction). Answers OTLP's partial success when some spans
 * were unusable, undefined when every span was accepted.
 */
export function ingestTraceExport(
  principal: AgentPrincipal,
  body: TraceExportBody,
  events: RunEventSink,
): OtlpPartialSuccess | undefined {
  const decoded = decodeTraceExport(body);
  const mapped = spansToRunEvents(decoded.spans);
  if (mapped.events.length > 0) events.ingestAgentEvents(principal, mapped.events);
  const rejectedSpans = decoded.rejected.count + mapped.rejected.count;
  if (rejectedSpans === 0) return undefined;
  return {
    rejectedSpans,
    errorMessage: [...decoded.rejected.reasons, ...mapped.rejected.reasons].join("; "),
  };
}
