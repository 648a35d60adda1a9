import { ApiError } from "@stowage/server-runtime";

/** Who is calling the agent API: an enrolled agent, by access token or by client certificate. */
export interface AgentPrincipal {
  kind: "agent";
  agentId: string;
  tenantId: string;
  agentName: string;
  authMethod: "jwt" | "mtls";
}

/**
 * The `{instance}` of an agent-API path must be the caller's own. Another agent's id is 404, never
 * 403, so a principal learns nothing about ids it does not own.
 */
export function requireOwnInstance(principal: AgentPrincipal, instance: string): void {
  if (principal.agentId !== instance)
    throw new ApiError(404, "resource.not_found", "No such instance.", {
      subject: { instance },
    });
}
