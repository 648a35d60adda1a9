import type { ControlHandlers } from "@stowage/control-server";
import type { OperatorPrincipal } from "../../services/principal";
import type { TargetsService } from "../../services/targets-service";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  "listTargets" | "createTarget" | "getTarget" | "updateTarget" | "deleteTarget"
>;

export function targetHandlers(targets: TargetsService): Handlers {
  return {
    listTargets: (ctx) => {
      const page = targets.list(ctx, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("targets.list", page),
      };
    },
    createTarget: (ctx) => {
      const target = targets.create(ctx, ctx.body);
      return {
        status: 201,
        headers: { location: `/v1/targets/${encodeURIComponent(target.id)}` },
        body: envelope("targets.create", target),
      };
    },
    getTarget: (ctx) => ({
      status: 200,
      body: envelope("targets.get", targets.get(ctx, ctx.params.target)),
    }),
    updateTarget: (ctx) => ({
      status: 200,
      body: envelope("targets.update", targets.update(ctx, ctx.params.target, ctx.body)),
    }),
    deleteTarget: (ctx) => {
      targets.delete(ctx, ctx.params.target);
      return { status: 204 };
    },
  };
}
