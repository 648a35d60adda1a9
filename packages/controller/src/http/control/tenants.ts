import type { ControlHandlers } from "@stowage/control-server";
import type { OperatorPrincipal } from "../../services/principal";
import type { TenantsService } from "../../services/tenants-service";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  "createTenant" | "listTenants" | "getTenant" | "deleteTenant"
>;

export function tenantHandlers(tenants: TenantsService): Handlers {
  return {
    createTenant: (ctx) => ({
      status: 201,
      body: envelope("tenants.create", tenants.create(ctx, ctx.body)),
    }),
    listTenants: (ctx) => {
      const page = tenants.list(ctx, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("tenants.list", page),
      };
    },
    getTenant: (ctx) => ({
      status: 200,
      body: envelope("tenants.get", tenants.get(ctx, ctx.params.tenant)),
    }),
    deleteTenant: (ctx) => {
      tenants.delete(ctx, ctx.params.tenant);
      return { status: 204 };
    },
  };
}
