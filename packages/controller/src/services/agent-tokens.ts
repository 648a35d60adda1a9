import { ApiError } from "@stowage/server-runtime";
import { AssertionJtisStore } from "../store/assertion-jtis-store";
import type { Logger } from "../observability/logger";
import type { AccessTokens, MintedToken } from "./access-tokens";
import { recordAgentSeen } from "./agent-enrollment";
import { claimedClient, verifyClientAssertion } from "./client-assertion";
import type { Stores } from "./control-context";
import type { TokenRateLimit } from "./token-rate-limit";

export interface TokenExchange {
  clientAssertion: string;
  clientId?: string;
  /** The caller's address: the rate limiter's key when the assertion names no client. */
  remoteAddress: string;
}

/**
 * The token endpoint's rules: rate limit per client, the client assertion verified against the
 * enrolled key, its `jti` spent once (in SQLite, so a restart does not reopen a replay window),
 * then a fresh access token. Every refusal is the same 401; the log says which check failed.
 */
export class AgentTokenService {
  private readonly jtis: AssertionJtisStore;

  constructor(
    private readonly stores: Stores,
    private readonly accessTokens: AccessTokens,
    private readonly options: { tokenUrl: () => string; rateLimit: TokenRateLimit; logger: Logger },
  ) {
    this.jtis = new AssertionJtisStore(stores.db);
  }

  exchange(input: TokenExchange, now: Date = new Date()): MintedToken {
    const client = claimedClient(input.clientAssertion);
    const wait = this.options.rateLimit.take(client ?? `address:${input.remoteAddress}`);
    if (wait > 0)
      throw new ApiError(429, "rate.limited", "Too many token requests from this client.", {
        headers: { "Retry-After": String(wait) },
        suggestion: {
          human: `Retry after ${wait} seconds; cache access tokens until they expire.`,
        },
      });
    const outcome = verifyClientAssertion(input.clientAssertion, {
      tokenUrl: this.options.tokenUrl(),
      now,
      findAgent: (id) => this.stores.agents.byIdInAnyTenant(id),
    });
    if (!outcome.ok) throw this.refuse(outcome.reason, outcome.clientId);
    const { agent, jti, expiresAt } = outcome.assertion;
    if (input.clientId !== undefined && input.clientId !== agent.id)
      throw this.refuse("client_id", agent.id);
    const spent = this.stores.db.transaction(() => {
      this.jtis.expireBefore(now.toISOString());
      return this.jtis.spend(agent.id, jti, expiresAt.toISOString());
    })();
    if (!spent) throw this.refuse("replayed_jti", agent.id);
    recordAgentSeen(this.stores, agent, { authMethod: "jwt" }, now);
    return this.accessTokens.mint(agent.id, now);
  }

  private refuse(reason: string, clientId: string | undefined): ApiError {
    this.options.logger.info({ reason, client: clientId }, "client assertion refused");
    return new ApiError(401, "auth.invalid_token", "The client assertion is not valid.", {
      suggestion: {
        human:
          "Sign a fresh assertion with the enrolled key: alg ES256, iss = sub = the instance id, aud = the token URL, exp at most 5 minutes ahead, a new jti.",
      },
    });
  }
}
