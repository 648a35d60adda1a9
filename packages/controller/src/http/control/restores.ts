import type { ControlHandlers } from "@stowage/control-server";
import type { Stores } from "../../services/control-context";
import { jobEventStream } from "../../services/job-streams";
import type { OperatorPrincipal } from "../../services/principal";
import type { RestoresService } from "../../services/restores-service";
import { envelope } from "../envelope";

type Handlers = Pick<ControlHandlers<OperatorPrincipal>, "createRestore" | "getRestore">;

export function restoreHandlers(restores: RestoresService, stores: Stores): Handlers {
  return {
    createRestore: (ctx) => {
      const restore = restores.create(ctx, ctx.params.deployment, ctx.body);
      const headers = {
        location: `/v1/deployments/${restore.deployment_id}/restores/${restore.id}`,
      };
      if (ctx.accept === "application/x-ndjson") {
        const job = { id: restore.job_id, tenant_id: ctx.principal.tenantId };
        return {
          status: 202,
          contentType: "application/x-ndjson",
          headers,
          body: jobEventStream(stores, { ...job, deployment_id: restore.deployment_id }, true),
        };
      }
      return {
        status: 202,
        contentType: "application/json",
        headers,
        body: envelope("restores.create", restore),
      };
    },
    getRestore: (ctx) => ({
      status: 200,
      body: envelope("restores.get", restores.get(ctx, ctx.params.deployment, ctx.params.restore)),
    }),
  };
}
