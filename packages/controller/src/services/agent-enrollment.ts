/**
 * The agent side of agent identity, for the agent API's handlers (`POST /engines/enroll`, the
 * token endpoint, mTLS): spend an enrollment, find an agent by the key it presents, and decide
 * whether it may still act. The control API creates enrollments and revokes agents; these
 * functions are the other half, over the same tables.
 */
import type { JsonWebKey } from "node:crypto";
import { ApiError } from "@stowage/server-runtime";
import type { AgentRow } from "../store/agents-store";
import type { Stores } from "./control-context";
import {
  jwkThumbprint,
  parseEnrolledPublicKey,
  publicKeyFingerprint,
  publicKeyPem,
} from "./agent-keys";
import { hashEnrollmentSecret, stateOf } from "./enrollments-service";
import { newId } from "./identifiers";

export interface EnrollAgentInput {
  /** The one-time secret an operator got from `createEnrollment`. */
  enrollmentSecret: string;
  /** ECDSA P-256: a PEM SubjectPublicKeyInfo or a JWK (the agent API's `EnrollmentRequest`). */
  publicKey: string | JsonWebKey;
  /** Used when the enrollment names no `agent_name`; the hostname, then the id, come next. */
  name?: string;
  hostname?: string;
  /** The agent's product and version (`agent_version`). */
  version?: string;
  /** The agent API's request id, for the audit entry. */
  requestId?: string;
}

export interface EnrolledAgent {
  agent: AgentRow;
  /** RFC 7638 thumbprint of the enrolled key: the agent API answers it as `key_thumbprint`. */
  keyThumbprint: string;
}

/**
 * Spends an enrollment and creates its agent, in one transaction with its audit entry. An
 * unknown, used, expired or deleted secret is a 401 `auth.invalid_token` with one message for
 * all (no oracle for guessers); a key that is not P-256 public is 400 and does not spend the
 * token; a key already enrolled (by any agent) is 409 and does not spend it either.
 */
export function enrollAgent(
  stores: Stores,
  input: EnrollAgentInput,
  now: Date = new Date(),
): EnrolledAgent {
  const key = parseEnrolledPublicKey(input.publicKey);
  const fingerprint = publicKeyFingerprint(key);
  const at = now.toISOString();
  return stores.db.transaction((): EnrolledAgent => {
    const enrollment = stores.enrollments.bySecretHash(
      hashEnrollmentSecret(input.enrollmentSecret),
    );
    if (!enrollment || stateOf(enrollment, now.getTime()) !== "pending") throw invalidEnrollment();
    if (stores.agents.byKeyFingerprint(fingerprint)) {
      throw new ApiError(409, "resource.conflict", "This public key is already enrolled.", {
        suggestion: { human: "Generate a new key pair for this agent and enroll again." },
      });
    }
    const id = newId("agt", now.getTime());
    const agent: AgentRow = {
      id,
      tenant_id: enrollment.tenant_id,
      name: enrollment.agent_name ?? input.name ?? input.hostname ?? id,
      hostname: input.hostname ?? null,
      version: input.version ?? null,
      auth_method: null,
      public_key: publicKeyPem(key),
      public_key_fingerprint: fingerprint,
      identity_public_key: null,
      identity_fingerprint: null,
      identity_issued_at: null,
      enrollment_id: enrollment.id,
      enrolled_at: at,
      last_seen_at: null,
      revoked_at: null,
    };
    stores.agents.insert(agent);
    // Conditional on still pending: the row read above may be stale if another writer raced us.
    if (!stores.enrollments.consume(enrollment.id, id, at)) throw invalidEnrollment();
    stores.auditLog.append({
      tenantId: agent.tenant_id,
      actor: { type: "agent", id, name: agent.name },
      action: "agents.enroll",
      subject: { agent: id, enrollment: enrollment.id },
      details: {
        name: agent.name,
        hostname: agent.hostname,
        version: agent.version,
        public_key_fingerprint: fingerprint,
      },
      requestId: input.requestId ?? null,
    });
    return { agent, keyThumbprint: jwkThumbprint(key) };
  })();
}

function invalidEnrollment(): ApiError {
  return new ApiError(401, "auth.invalid_token", "The enrollment token is not valid.", {
    suggestion: { human: "Ask an operator for a new enrollment token (createEnrollment)." },
  });
}

/**
 * The agent whose enrolled key or issued mTLS identity has this fingerprint (see
 * `publicKeyFingerprint`), revoked or not: callers decide with `isAgentActive`.
 */
export function agentByPublicKeyFingerprint(
  stores: Stores,
  fingerprint: string,
): AgentRow | undefined {
  return stores.agents.byKeyFingerprint(fingerprint);
}

/** Whether the agent exists and is not revoked: checked on every agent API request. */
export function isAgentActive(stores: Stores, agentId: string): boolean {
  const row = stores.agents.byIdInAnyTenant(agentId);
  return row !== undefined && row.revoked_at === null;
}

/** `last_seen_at` is written at most this often per agent, unless the method or version changes. */
const SEEN_INTERVAL_MS = 30_000;

/**
 * Records an authenticated agent request (last seen, how it authenticated, the version it
 * reports). Throttled: thousands of long-polling agents must not cost a write per request.
 */
export function recordAgentSeen(
  stores: Stores,
  agent: AgentRow,
  seen: { authMethod: "jwt" | "mtls"; version?: string },
  now: Date = new Date(),
): void {
  const fresh =
    agent.last_seen_at !== null &&
    now.getTime() - Date.parse(agent.last_seen_at) < SEEN_INTERVAL_MS &&
    agent.auth_method === seen.authMethod &&
    (seen.version === undefined || seen.version === agent.version);
  if (fresh) return;
  stores.agents.seen({
    id: agent.id,
    at: now.toISOString(),
    auth_method: seen.authMethod,
    version: seen.version ?? null,
  });
}
