import { createPublicKey } from "node:crypto";
import jwt from "jsonwebtoken";
import type { AgentRow } from "../store/agents-store";
import { jwkThumbprint } from "./agent-keys";

/** RFC 7523 client assertions: what `POST /engines/oauth/token` accepts (agent.yaml says why). */
export const ASSERTION_MAX_LIFETIME_SECONDS = 300;
const SKEW_SECONDS = 60;
const MAX_JTI_LENGTH = 256;

export interface VerifiedAssertion {
  agent: AgentRow;
  jti: string;
  /** When the assertion expires: its `jti` must be remembered until then. */
  expiresAt: Date;
}

/** Why an assertion was refused: for the log only; the client gets one message for every reason. */
export type AssertionRefusal =
  | "malformed"
  | "algorithm"
  | "unknown_client"
  | "revoked"
  | "key_id"
  | "signature_or_claims"
  | "lifetime"
  | "jti";

export type AssertionOutcome =
  | { ok: true; assertion: VerifiedAssertion }
  | { ok: false; reason: AssertionRefusal; clientId?: string };

/** The claimed client of an assertion, before anything is verified: the rate limiter's key. */
export function claimedClient(assertion: string): string | undefined {
  const payload = jwt.decode(assertion, { json: true });
  return typeof payload?.iss === "string" ? payload.iss : undefined;
}

/**
 * Checks an assertion against the enrolled key of the agent it names. ES256 is fixed before any
 * key is touched, so `alg: none` and HS256-with-the-public-key never reach a verifier; the
 * signature is checked by jsonwebtoken with `algorithms: ["ES256"]` as a second lock.
 */
export function verifyClientAssertion(
  assertion: string,
  input: { tokenUrl: string; now: Date; findAgent: (id: string) => AgentRow | undefined },
): AssertionOutcome {
  const decoded = jwt.decode(assertion, { complete: true });
  if (!decoded || typeof decoded.payload === "string") return { ok: false, reason: "malformed" };
  if (decoded.header.alg !== "ES256") return { ok: false, reason: "algorithm" };
  const { iss, sub } = decoded.payload;
  if (typeof iss !== "string" || iss !== sub) return { ok: false, reason: "malformed" };
  const agent = input.findAgent(iss);
  if (!agent) return { ok: false, reason: "unknown_client", clientId: iss };
  if (agent.revoked_at !== null) return { ok: false, reason: "revoked", clientId: iss };
  const key = createPublicKey(agent.public_key);
  if (decoded.header.kid !== undefined && decoded.header.kid !== jwkThumbprint(key))
    return { ok: false, reason: "key_id", clientId: iss };
  const nowSeconds = Math.floor(input.now.getTime() / 1000);
  let claims: jwt.JwtPayload;
  try {
    const verified = jwt.verify(assertion, key, {
      algorithms: ["ES256"],
      audience: input.tokenUrl,
      issuer: iss,
      subject: iss,
      clockTolerance: SKEW_SECONDS,
      clockTimestamp: nowSeconds,
    });
    if (typeof verified === "string") return { ok: false, reason: "malformed", clientId: iss };
    claims = verified;
  } catch {
    return { ok: false, reason: "signature_or_claims", clientId: iss };
  }
  // jsonwebtoken checks `exp` only when present, and `aud` as one of a list: both are tightened here.
  const issuedAt = typeof claims.iat === "number" ? claims.iat : nowSeconds;
  if (
    typeof claims.exp !== "number" ||
    claims.exp - issuedAt > ASSERTION_MAX_LIFETIME_SECONDS ||
    claims.exp - nowSeconds > ASSERTION_MAX_LIFETIME_SECONDS + SKEW_SECONDS ||
    issuedAt > nowSeconds + SKEW_SECONDS ||
    (Array.isArray(claims.aud) && claims.aud.length !== 1)
  )
    return { ok: false, reason: "lifetime", clientId: iss };
  if (
    typeof claims.jti !== "string" ||
    claims.jti.length === 0 ||
    claims.jti.length > MAX_JTI_LENGTH
  )
    return { ok: false, reason: "jti", clientId: iss };
  return {
    ok: true,
    assertion: { agent, jti: claims.jti, expiresAt: new Date((claims.exp + SKEW_SECONDS) * 1000) },
  };
}
