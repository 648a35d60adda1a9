import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { ApiError } from "@stowage/server-runtime";
import type { SigningKeyRing } from "./signing-keys";

export interface AccessTokenSettings {
  lifetimeSeconds: number;
  /** The controller's public URL: the tokens' `iss`; their `aud` is its `/engines`. */
  publicUrl: () => string;
}

export interface MintedToken {
  token: string;
  expiresIn: number;
}

/** Seconds of clock skew tolerated between the controller's processes and restarts. */
const SKEW_SECONDS = 5;

/**
 * The controller's access tokens for the agent API's `jwt` scheme: ES256 JWTs signed with the
 * newest key of the ring, `kid` in the header, `sub` = the agent's instance id. Verification
 * accepts ES256 only and finds the key by `kid`, so a token signed before a rotation stays valid
 * until it expires.
 */
export class AccessTokens {
  constructor(
    private readonly keys: SigningKeyRing,
    readonly settings: AccessTokenSettings,
  ) {}

  mint(agentId: string, now: Date = new Date()): MintedToken {
    const key = this.keys.current();
    if (!key) throw new ApiError(503, "storage.unavailable", "No signing key is available.");
    const issuer = this.settings.publicUrl();
    const iat = Math.floor(now.getTime() / 1000);
    const token = jwt.sign(
      { client_id: agentId, iat, exp: iat + this.settings.lifetimeSeconds },
      key.privateKey,
      {
        algorithm: "ES256",
        header: { alg: "ES256", typ: "at+jwt", kid: key.kid },
        issuer,
        audience: `${issuer}/engines`,
        subject: agentId,
        jwtid: randomUUID(),
      },
    );
    return { token, expiresIn: this.settings.lifetimeSeconds };
  }

  /** The instance id a valid token names; a 401 `auth.invalid_token` for anything else. */
  verify(token: string): string {
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded?.header.kid;
    if (!decoded || decoded.header.alg !== "ES256" || typeof kid !== "string") throw invalidToken();
    const key = this.keys.byKid(kid);
    if (!key) throw invalidToken();
    const issuer = this.settings.publicUrl();
    try {
      const claims = jwt.verify(token, key.publicKey, {
        algorithms: ["ES256"],
        issuer,
        audience: `${issuer}/engines`,
        clockTolerance: SKEW_SECONDS,
      });
      if (typeof claims === "string" || typeof claims.sub !== "string") throw invalidToken();
      return claims.sub;
    } catch {
      throw invalidToken();
    }
  }
}

export function invalidToken(): ApiError {
  return new ApiError(401, "auth.invalid_token", "The access token is not valid.", {
    suggestion: {
      human: "Mint a new access token at the token endpoint with a fresh client assertion.",
    },
  });
}
