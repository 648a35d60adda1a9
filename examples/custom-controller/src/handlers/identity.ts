import { createPublicKey, type KeyObject } from "node:crypto";
import { ApiError } from "@stowage/server-runtime";
import type { Principal } from "../auth";
import type { AgentHandlers } from "../generated/handlers";
import type { components } from "../generated/types";
import type { AgentStore } from "../store";
import { jwkThumbprint } from "../token";

type PublicKeyInput = components["schemas"]["EnrollmentRequest"]["public_key"];
type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];

/**
 * Operations tagged `identity`. Only `enrollAgent` is implemented: `createAccessToken` and
 * `getJwks` were removed from the scaffold's object, so the router answers them 410 itself.
 */
export function identityHandlers(store: AgentStore): Pick<AgentHandlers<Principal>, "enrollAgent"> {
  return {
    /** POST /engines/enroll. Replies: 201, 301, 400, 401, 406, 409, 410, 413, 415, 429, 500, 503. */
    enrollAgent(ctx) {
      const { enrollment_token: token, public_key, hostname, agent_version } = ctx.body;
      // Checked before the key so that without a valid token the caller learns nothing more.
      if (!store.hasEnrollmentToken(token)) return invalidToken(ctx.requestId);
      const key = parsePublicKey(public_key);
      const result = store.enroll(token, key, jwkThumbprint(key), {
        hostname,
        agentVersion: agent_version,
      });
      if (!result.ok && result.reason === "key_conflict") {
        throw new ApiError(409, "resource.conflict", "This key is already enrolled.", {
          suggestion: { human: "Generate a new key pair for each agent." },
        });
      }
      if (!result.ok) return invalidToken(ctx.requestId);
      const { agent } = result;
      // The URLs the agent reached us at. Host is the client's to set, which is fine for links
      // back to ourselves; a controller behind a proxy would use its configured public URL.
      const base = `${ctx.req.protocol}://${ctx.req.get("host") ?? "127.0.0.1"}/engines`;
      return {
        status: 201,
        body: {
          instance: agent.instance,
          key_thumbprint: agent.thumbprint,
          enrolled_at: agent.enrolledAt,
          endpoints: {
            orchestration: base,
            reporting: base,
            token: `${base}/oauth/token`,
            jwks: `${base}/jwks.json`,
            enroll: `${base}/enroll`,
          },
        },
      };
    },
  };
}

/**
 * One answer for unknown, expired and spent tokens, as the spec says: no oracle for guessing.
 * Returned rather than thrown as an ApiError, because the router renders every thrown 401 as
 * `auth.required` (it takes any 401 for a failed security check), and the spec's answer here is
 * `auth.invalid_token`.
 */
function invalidToken(requestId: string): { status: 401; body: ErrorEnvelope } {
  return {
    status: 401,
    body: {
      schema: "stowage.v1",
      error: {
        code: "auth.invalid_token",
        message: "The enrollment token is not valid.",
        suggestion: { human: "Ask an operator for a new enrollment token." },
        request_id: requestId,
      },
    },
  };
}

/** The schema admits any JWK-shaped or PEM-shaped value; only a P-256 public key is a key here. */
function parsePublicKey(input: PublicKeyInput): KeyObject {
  // The schema cannot forbid `d` (it allows added members), and node would happily derive the
  // public key from a private one, so a leaked private key is refused explicitly.
  if (typeof input !== "string" && Object.hasOwn(input, "d")) {
    throw badKey("is a private key (it carries `d`); send the public key only");
  }
  let key: KeyObject;
  try {
    key =
      typeof input === "string"
        ? createPublicKey(input)
        : createPublicKey({ key: input, format: "jwk" });
  } catch {
    throw badKey("is not a readable public key");
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw badKey("is not an ECDSA P-256 key");
  }
  return key;
}

function badKey(problem: string): ApiError {
  return new ApiError(400, "request.invalid", `The public key ${problem}.`, {
    details: [{ path: "/body/public_key", message: problem }],
  });
}
