import { ApiError, type AuthenticateInput } from "@stowage/server-runtime";
import type { AgentStore } from "./store";
import { verifyAgentToken } from "./token";

/** Who is calling: an enrolled agent, known by its instance id. */
export interface Principal {
  instance: string;
}

/**
 * The router calls this once per security scheme the operation lists (`getConfig` lists `jwt` and
 * `mtls`; one success is enough). Returning undefined means "no credentials for this scheme" and
 * ends as 401 `auth.required`; throwing a 401 ApiError means "credentials, but bad ones" and ends
 * as that error.
 */
export function createAuthenticate(store: AgentStore) {
  return ({ scheme, req }: AuthenticateInput): Principal | undefined => {
    // mTLS needs an https listener that asks for client certificates; this example serves plain
    // HTTP, so only the bearer scheme can succeed.
    if (scheme !== "jwt") return undefined;
    const presented = /^Bearer ([^\s]+)$/i.exec(req.get("authorization") ?? "")?.[1];
    if (presented === undefined) return undefined;
    const instance = verifyAgentToken(presented, (id) => store.agent(id));
    if (instance === undefined) {
      throw new ApiError(401, "auth.invalid_token", "The access token is not valid.");
    }
    return { instance };
  };
}
