import type { AgentHandlers } from "@stowage/agent-server";
import type { AgentPrincipal } from "../../services/agent-principal";
import { ASSERTION_MAX_LIFETIME_SECONDS } from "../../services/client-assertion";
import type { EndpointMap } from "../../services/endpoint-map";

export function discoveryHandlers(deps: {
  endpoints: () => EndpointMap;
  accessTokenLifetimeSeconds: number;
  /** Whether this controller serves TLS, and so can take client certificates. */
  mtls: boolean;
  configMediaTypes: readonly string[];
}): Pick<AgentHandlers<AgentPrincipal>, "getDiscovery"> {
  return {
    getDiscovery: () => ({
      status: 200,
      body: {
        endpoints: deps.endpoints(),
        authentication: {
          methods: deps.mtls ? ["client_assertion", "mtls"] : ["client_assertion"],
          assertion_signing_alg_values: ["ES256"],
          assertion_max_lifetime_seconds: ASSERTION_MAX_LIFETIME_SECONDS,
          access_token_lifetime_seconds: deps.accessTokenLifetimeSeconds,
        },
        config_media_types: [...deps.configMediaTypes],
      },
    }),
  };
}
