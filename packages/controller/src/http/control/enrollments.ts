import type { ControlHandlers } from "@stowage/control-server";
import type { Stores } from "../../services/control-context";
import type { AgentEndpoint } from "../../services/agents-service";
import { EnrollmentsService } from "../../services/enrollments-service";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";
import { publicUrlOf } from "./public-url";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  "createEnrollment" | "listEnrollments" | "getEnrollment" | "deleteEnrollment"
>;

export function enrollmentHandlers(stores: Stores, endpoint: AgentEndpoint | undefined): Handlers {
  const enrollments = new EnrollmentsService(stores);
  return {
    createEnrollment: (ctx) => {
      const created = enrollments.create(ctx, ctx.body ?? {}, publicUrlOf(endpoint, ctx.req));
      return {
        status: 201,
        // The one answer that carries the secret: never stored by a cache on the way.
        headers: {
          "cache-control": "no-store",
          location: `/v1/enrollments/${encodeURIComponent(created.id)}`,
        },
        body: envelope("enrollments.create", created),
      };
    },
    listEnrollments: (ctx) => {
      const page = enrollments.list(ctx, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("enrollments.list", page),
      };
    },
    getEnrollment: (ctx) => ({
      status: 200,
      body: envelope("enrollments.get", enrollments.get(ctx, ctx.params.enrollment)),
    }),
    deleteEnrollment: (ctx) => {
      enrollments.delete(ctx, ctx.params.enrollment);
      return { status: 204 };
    },
  };
}
