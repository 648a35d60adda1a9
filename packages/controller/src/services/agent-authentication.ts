import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { Request } from "express";
import { ApiError } from "@stowage/server-runtime";
import type { AgentRow } from "../store/agents-store";
import { invalidToken, type AccessTokens } from "./access-tokens";
import { recordAgentSeen } from "./agent-enrollment";
import { publicKeyFingerprint } from "./agent-keys";
import type { AgentPrincipal } from "./agent-principal";
import type { Stores } from "./control-context";

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/**
 * Who an agent-API request comes from, by either scheme of the spec: a bearer access token
 * (`jwt`) or the key of its TLS client certificate (`mtls`). The agent row is read on every
 * request, so revoking an agent refuses its very next request, whatever token it still holds.
 * `undefined` means "this scheme was not used"; a 401 means it was used and failed.
 */
export class AgentAuthenticator {
  constructor(
    private readonly stores: Stores,
    private readonly accessTokens: AccessTokens,
  ) {}

  authenticate(scheme: string, req: Request): AgentPrincipal | undefined {
    if (scheme === "jwt") return this.byAccessToken(req);
    if (scheme === "mtls") return this.byClientCertificate(req);
    return undefined;
  }

  private byAccessToken(req: Request): AgentPrincipal | undefined {
    const header = req.get("authorization");
    if (header === undefined) return undefined;
    const token = BEARER.exec(header)?.[1];
    if (!token) throw invalidToken();
    const agent = this.stores.agents.byIdInAnyTenant(this.accessTokens.verify(token));
    if (!agent || agent.revoked_at !== null) throw invalidToken();
    return this.principal(agent, "jwt");
  }

  private byClientCertificate(req: Request): AgentPrincipal | undefined {
    const socket = req.socket as TLSSocket;
    if (!socket.encrypted) return undefined;
    const certificate = socket.getPeerCertificate();
    if (!certificate?.raw) return undefined;
    // The identity is the key, not the subject: the TLS handshake proved the client holds it.
    const fingerprint = publicKeyFingerprint(new X509Certificate(certificate.raw).publicKey);
    const agent = this.stores.agents.byKeyFingerprint(fingerprint);
    if (!agent || agent.revoked_at !== null)
      throw new ApiError(
        401,
        "auth.invalid_token",
        "The client certificate's key is not enrolled or was revoked.",
        {
          suggestion: {
            human: "Issue an identity for this agent through the control API, or enroll its key.",
          },
        },
      );
    return this.principal(agent, "mtls");
  }

  private principal(agent: AgentRow, authMethod: "jwt" | "mtls"): AgentPrincipal {
    recordAgentSeen(this.stores, agent, { authMethod });
    return {
      kind: "agent",
      agentId: agent.id,
      tenantId: agent.tenant_id,
      agentName: agent.name,
      authMethod,
    };
  }
}
