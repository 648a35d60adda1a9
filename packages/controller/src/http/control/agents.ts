import type { ControlHandlers } from "@stowage/control-server";
import type { Stores } from "../../services/control-context";
import { AgentsService, type AgentEndpoint } from "../../services/agents-service";
import type { JobsService } from "../../services/jobs-service";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";
import { publicUrlOf } from "./public-url";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  "listAgents" | "getAgent" | "revokeAgent" | "issueAgentIdentity"
>;

export function agentHandlers(
  stores: Stores,
  endpoint: AgentEndpoint | undefined,
  jobs: JobsService,
): Handlers {
  const agents = new AgentsService(stores, endpoint?.tlsCertificatePem, jobs, endpoint?.seedVault);
  return {
    listAgents: (ctx) => {
      const page = agents.list(ctx, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("agents.list", page),
      };
    },
    getAgent: (ctx) => ({
      status: 200,
      body: envelope("agents.get", agents.get(ctx, ctx.params.agent)),
    }),
    revokeAgent: (ctx) => ({
      status: 200,
      body: envelope("agents.revoke", agents.revoke(ctx, ctx.params.agent)),
    }),
    issueAgentIdentity: (ctx) => {
      const identity = agents.issueIdentity(
        ctx,
        ctx.params.agent,
        ctx.body ?? {},
        publicUrlOf(endpoint, ctx.req),
      );
      return {
        status: 201,
        // It carries the seed, shown this once: no cache on the way may keep it.
        headers: {
          "cache-control": "no-store",
          location: `/v1/agents/${encodeURIComponent(identity.agent_id)}`,
        },
        body: envelope("agents.issue_identity", identity),
      };
    },
  };
}
