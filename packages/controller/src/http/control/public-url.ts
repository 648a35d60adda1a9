import type { Request } from "express";
import type { AgentEndpoint } from "../../services/agents-service";

/**
 * The controller's base URL for documents handed to agents. The server names it; an app built
 * without one (embedded, or in a unit test) falls back to the address the caller used.
 */
export function publicUrlOf(endpoint: AgentEndpoint | undefined, req: Request): string {
  return endpoint?.publicUrl() ?? `${req.protocol}://${req.get("host") ?? "localhost"}`;
}
