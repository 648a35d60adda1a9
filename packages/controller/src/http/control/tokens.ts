import type { ControlHandlers } from "@stowage/control-server";
import type { OperatorPrincipal } from "../../services/principal";
import type { TokensService } from "../../services/tokens-service";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  "createToken" | "listTokens" | "getToken" | "revokeToken"
>;

export function tokenHandlers(tokens: TokensService): Handlers {
  return {
    createToken: (ctx) => ({
      status: 201,
      // The one answer that carries the secret: never stored by a cache on the way.
      headers: { "cache-control": "no-store" },
      body: envelope("tokens.create", tokens.create(ctx, ctx.body)),
    }),
    listTokens: (ctx) => {
      const page = tokens.list(ctx, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("tokens.list", page),
      };
    },
    getToken: (ctx) => ({
      status: 200,
      body: envelope("tokens.get", tokens.get(ctx, ctx.params.token)),
    }),
    revokeToken: (ctx) => ({
      status: 200,
      body: envelope("tokens.revoke", tokens.revoke(ctx, ctx.params.token)),
    }),
  };
}
