import { ApiError } from "@stowage/server-runtime";
import type { ControlHandlers } from "@stowage/control-server";
import type { EventsService } from "../../services/events-service";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<ControlHandlers<OperatorPrincipal>, "listEvents">;

export function eventHandlers(events: EventsService): Handlers {
  return {
    listEvents: (ctx) => {
      const follow = ctx.query.follow ?? false;
      if (ctx.accept === "application/x-ndjson") {
        return {
          status: 200,
          contentType: "application/x-ndjson",
          body: events.stream(ctx, ctx.query, follow),
        };
      }
      if (follow) {
        throw new ApiError(
          400,
          "request.invalid",
          "follow=true needs Accept: application/x-ndjson.",
          {
            details: [{ path: "/query/follow", message: "is only for application/x-ndjson" }],
            suggestion: { human: "Ask for application/x-ndjson to follow events as they happen." },
          },
        );
      }
      const page = events.list(ctx, ctx.query);
      return {
        status: 200,
        contentType: "application/json",
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("events.list", page),
      };
    },
  };
}
