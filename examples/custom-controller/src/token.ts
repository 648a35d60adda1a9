import { createHash, sign, verify, type KeyObject } from "node:crypto";
import type { components } from "./generated/types";

export type EcPublicJwk = components["schemas"]["EcPublicJwk"];

/**
 * The agent's bearer token in this example: a short-lived ES256 JWT that the agent signs with its
 * own enrolled key (`iss` = `sub` = its instance id, `kid` = the key's thumbprint). It is the
 * client assertion `createAccessToken` would take, presented directly: the controller checks it
 * against the key enrolled for `sub` instead of trading it for a token of its own. That keeps the
 * example to two operations while the credential still proves possession of the enrolled key, and
 * no secret has to travel in the enrollment response (whose schema has no field for one).
 */
export const TOKEN_ALGORITHM = "ES256";
/** As for client assertions in the spec: a leaked token is useless within five minutes. */
export const MAX_LIFETIME_SECONDS = 300;
const CLOCK_SKEW_SECONDS = 60;

/** RFC 7638 SHA-256 thumbprint: the canonical JSON of the required members, in lexical order. */
export function jwkThumbprint(key: KeyObject): string {
  const { crv, kty, x, y } = publicJwk(key);
  return createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url");
}

/** The public half of a P-256 key in the shape `enrollAgent` takes. */
export function publicJwk(key: KeyObject): EcPublicJwk {
  const jwk = key.export({ format: "jwk" });
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) {
    throw new Error("not a P-256 key");
  }
  // Built member by member: exporting a private key would otherwise carry `d` along.
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
}

/** Agent side: a fresh token for `instance`, signed with the enrolled private key. */
export function mintAgentToken(
  privateKey: KeyObject,
  instance: string,
  options: { now?: number; lifetimeSeconds?: number } = {},
): string {
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const header = { alg: TOKEN_ALGORITHM, typ: "JWT", kid: jwkThumbprint(privateKey) };
  const claims = {
    iss: instance,
    sub: instance,
    iat,
    exp: iat + (options.lifetimeSeconds ?? MAX_LIFETIME_SECONDS),
  };
  const input = `${encode(header)}.${encode(claims)}`;
  // JWS wants the raw r||s pair, not the DER that node produces by default.
  const signature = sign("sha256", Buffer.from(input), {
    key: privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}

export interface EnrolledKey {
  key: KeyObject;
  thumbprint: string;
}

/**
 * Controller side: the instance a token speaks for, or undefined when any check fails. Which
 * check failed is deliberately not returned, so the 401 it becomes is no oracle.
 */
export function verifyAgentToken(
  token: string,
  keyOf: (instance: string) => EnrolledKey | undefined,
  now = Date.now(),
): string | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const [headerPart, claimsPart, signaturePart] = parts;
  const header = decode(headerPart);
  const claims = decode(claimsPart);
  // Pinning the algorithm before anything else closes `alg: none` and HMAC-with-the-public-key.
  if (header?.alg !== TOKEN_ALGORITHM) return undefined;
  const { sub, iss, iat, exp } = claims ?? {};
  if (typeof sub !== "string" || iss !== sub) return undefined;
  if (typeof iat !== "number" || typeof exp !== "number") return undefined;
  const seconds = now / 1000;
  if (exp <= seconds || iat > seconds + CLOCK_SKEW_SECONDS || exp - iat > MAX_LIFETIME_SECONDS) {
    return undefined;
  }
  const enrolled = keyOf(sub);
  if (!enrolled) return undefined;
  if (header.kid !== undefined && header.kid !== enrolled.thumbprint) return undefined;
  try {
    const valid = verify(
      "sha256",
      Buffer.from(`${headerPart}.${claimsPart}`),
      { key: enrolled.key, dsaEncoding: "ieee-p1363" },
      Buffer.from(signaturePart, "base64url"),
    );
    return valid ? sub : undefined;
  } catch {
    // A signature of the wrong length can throw rather than fail; either way it is not valid.
    return undefined;
  }
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function decode(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
