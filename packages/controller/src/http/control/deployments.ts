import type { ControlHandlers } from "@stowage/control-server";
import type { DeploymentsService } from "../../services/deployments-service";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  "listDeployments" | "createDeployment" | "getDeployment" | "updateDeployment" | "deleteDeployment"
>;

export function deploymentHandlers(deployments: DeploymentsService): Handlers {
  return {
    listDeployments: (ctx) => {
      const page = deployments.list(ctx, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("deployments.list", page),
      };
    },
    createDeployment: (ctx) => {
      const { created, deployment } = deployments.create(ctx, ctx.body);
      const body = envelope("deployments.create", deployment);
      return created
        ? {
            status: 201,
            headers: { location: `/v1/deployments/${encodeURIComponent(deployment.id)}` },
            body,
          }
        : { status: 200, body };
    },
    getDeployment: (ctx) => ({
      status: 200,
      body: envelope("deployments.get", deployments.get(ctx, ctx.params.deployment)),
    }),
    updateDeployment: (ctx) => ({
      status: 200,
      body: envelope(
        "deployments.update",
        deployments.update(ctx, ctx.params.deployment, ctx.body),
      ),
    }),
    deleteDeployment: (ctx) => {
      deployments.delete(ctx, ctx.params.deployment);
      return { status: 204 };
    },
  };
}
