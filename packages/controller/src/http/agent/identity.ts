import type { AgentHandlers } from "@stowage/agent-server";
import { enrollAgent } from "../../services/agent-enrollment";
import type { AgentPrincipal } from "../../services/agent-principal";
import type { AgentTokenService } from "../../services/agent-tokens";
import type { Stores } from "../../services/control-context";
import type { EndpointMap } from "../../services/endpoint-map";
import type { SigningKeyRing } from "../../services/signing-keys";

type Handlers = Pick<
  AgentHandlers<AgentPrincipal>,
  "enrollAgent" | "createAccessToken" | "getJwks"
>;

export function identityHandlers(deps: {
  stores: Stores;
  tokens: AgentTokenService;
  keys: SigningKeyRing;
  endpoints: () => EndpointMap;
}): Handlers {
  return {
    enrollAgent: (ctx) => {
      const { agent, keyThumbprint } = enrollAgent(deps.stores, {
        enrollmentSecret: ctx.body.enrollment_token,
        publicKey: ctx.body.public_key,
        hostname: ctx.body.hostname,
        version: ctx.body.agent_version,
        requestId: ctx.requestId,
      });
      return {
        status: 201,
        body: {
          instance: agent.id,
          key_thumbprint: keyThumbprint,
          enrolled_at: agent.enrolled_at,
          endpoints: deps.endpoints(),
        },
      };
    },
    createAccessToken: (ctx) => {
      const minted = deps.tokens.exchange({
        clientAssertion: ctx.body.client_assertion,
        clientId: ctx.body.client_id,
        remoteAddress: ctx.req.socket.remoteAddress ?? "unknown",
      });
      return {
        status: 200,
        headers: { "cache-control": "no-store", pragma: "no-cache" },
        body: {
          access_token: minted.token,
          token_type: "Bearer",
          expires_in: minted.expiresIn,
          endpoints: deps.endpoints(),
        },
      };
    },
    getJwks: () => ({
      status: 200,
      headers: { "cache-control": "public, max-age=300" },
      body: {
        keys: deps.keys.all().map((key) => {
          const { x, y } = key.publicKey.export({ format: "jwk" });
          return {
            kty: "EC" as const,
            crv: "P-256" as const,
            x: String(x),
            y: String(y),
            kid: key.kid,
            use: "sig" as const,
            alg: "ES256" as const,
          };
        }),
      },
    }),
  };
}
