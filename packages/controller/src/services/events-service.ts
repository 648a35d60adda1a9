import { ApiError } from "@stowage/server-runtime";
import type { CallContext, Stores } from "./control-context";
import { presentEvent } from "./event-log";
import { tenantEventStream, type EventFilter, type StreamEvent } from "./job-streams";
import { pageRequest, toPage } from "./pagination";
import type { OperatorPrincipal } from "./principal";

type Call = CallContext<OperatorPrincipal>;

export interface EventQuery {
  limit?: number;
  marker?: string;
  since?: string;
  deployment?: string;
  op?: string;
}

/** How far back `GET /v1/events` looks without `since` (the spec: 24 hours). */
const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The tenant's events: a page (oldest first) or a stream that can follow live ones. */
export class EventsService {
  constructor(private readonly stores: Stores) {}

  list(call: Call, query: EventQuery) {
    const filter = this.filterOf(call, query);
    const request = pageRequest(query);
    const after =
      request.after === undefined
        ? this.stores.events.idBefore(filter.since)
        : Number(request.after);
    if (!Number.isSafeInteger(after)) {
      throw new ApiError(400, "request.invalid", "The marker is not one this server issued.", {
        details: [{ path: "/query/marker", message: "is not a valid marker" }],
      });
    }
    const rows = this.stores.events.page({ ...filter, afterId: after, limit: request.limit + 1 });
    const page = toPage(rows, request, (row) => String(row.id));
    return { items: page.items.map((row) => presentEvent(row)), next_marker: page.next_marker };
  }

  stream(call: Call, query: EventQuery, follow: boolean): AsyncIterableIterator<StreamEvent> {
    return tenantEventStream(this.stores, this.filterOf(call, query), follow);
  }

  private filterOf(call: Call, query: EventQuery): EventFilter {
    return {
      tenantId: call.principal.tenantId,
      // Stored times are UTC `Z` strings compared as text: an offset in `since` is normalised.
      since: new Date(query.since ?? Date.now() - DEFAULT_WINDOW_MS).toISOString(),
      // A deployment deleted since keeps its events: its raw id still filters them.
      deploymentId:
        query.deployment === undefined
          ? undefined
          : (this.stores.deployments.byIdOrName(call.principal.tenantId, query.deployment)?.id ??
            query.deployment),
      op: query.op,
    };
  }
}
