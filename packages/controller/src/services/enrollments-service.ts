import { randomBytes } from "node:crypto";
import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { EnrollmentRow } from "../store/enrollments-store";
import type { CallContext, Stores } from "./control-context";
import { newId } from "./identifiers";
import { pageRequest, toPage } from "./pagination";
import { actorOf, type OperatorPrincipal } from "./principal";
import { hashTokenSecret } from "./token-secrets";

type Call = CallContext<OperatorPrincipal>;
export type EnrollmentView = components["schemas"]["Enrollment"];
type EnrollmentCreate = components["schemas"]["EnrollmentCreate"];

/** The spec's default TTL (`ttl_seconds`), when the body names none. */
const DEFAULT_TTL_SECONDS = 3600;

/** Distinct from the `enr_` ids, so a secret pasted where an id goes (or in a log) stands out. */
const SECRET_PREFIX = "enr_tok_";

/** 32 random bytes: a fast hash at rest is enough, as for operator tokens. */
export function newEnrollmentSecret(): { secret: string; hash: string } {
  const secret = `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
  return { secret, hash: hashEnrollmentSecret(secret) };
}

export function hashEnrollmentSecret(secret: string): string {
  return hashTokenSecret(secret);
}

export class EnrollmentsService {
  constructor(private readonly stores: Stores) {}

  /** `publicUrl` is the controller's base URL as agents reach it: the answer names the enroll URL. */
  create(
    call: Call,
    input: EnrollmentCreate,
    publicUrl: string,
  ): EnrollmentView & { token: string; enroll_url: string } {
    const { secret, hash } = newEnrollmentSecret();
    const createdAt = new Date();
    const ttl = input.ttl_seconds ?? DEFAULT_TTL_SECONDS;
    const row: EnrollmentRow = {
      id: newId("enr", createdAt.getTime()),
      tenant_id: call.principal.tenantId,
      description: input.description ?? null,
      agent_name: input.agent_name ?? null,
      secret_hash: hash,
      created_at: createdAt.toISOString(),
      expires_at: new Date(createdAt.getTime() + ttl * 1000).toISOString(),
      used_at: null,
      agent_id: null,
    };
    this.stores.db.transaction(() => {
      this.stores.enrollments.insert(row);
      this.stores.auditLog.append({
        tenantId: row.tenant_id,
        actor: actorOf(call.principal),
        action: "enrollments.create",
        subject: { enrollment: row.id },
        // Never the secret: the audit log is readable by anyone with audit:read.
        details: {
          description: row.description,
          agent_name: row.agent_name,
          expires_at: row.expires_at,
        },
        requestId: call.requestId,
      });
    })();
    return { ...presentEnrollment(row), token: secret, enroll_url: `${publicUrl}/engines/enroll` };
  }

  list(call: Call, query: { limit?: number; marker?: string }) {
    const request = pageRequest(query);
    const rows = this.stores.enrollments.page(
      call.principal.tenantId,
      request.after,
      request.limit + 1,
    );
    const page = toPage(rows, request, (row) => row.id);
    return {
      items: page.items.map((row) => presentEnrollment(row)),
      next_marker: page.next_marker,
    };
  }

  get(call: Call, id: string): EnrollmentView {
    return presentEnrollment(this.row(call, id));
  }

  /** A pending one stops working at once (the row is gone); a used one's agent stays. */
  delete(call: Call, id: string): void {
    this.stores.db.transaction(() => {
      const row = this.row(call, id);
      this.stores.enrollments.delete(id, call.principal.tenantId);
      this.stores.auditLog.append({
        tenantId: call.principal.tenantId,
        actor: actorOf(call.principal),
        action: "enrollments.delete",
        subject: { enrollment: id },
        details: { state: stateOf(row), agent_id: row.agent_id },
        requestId: call.requestId,
      });
    })();
  }

  private row(call: Call, id: string): EnrollmentRow {
    // Another tenant's enrollment is 404, never 403: existence does not leak.
    const row = this.stores.enrollments.byId(id, call.principal.tenantId);
    if (!row) {
      throw new ApiError(404, "resource.not_found", `No enrollment ${id}.`, {
        subject: { enrollment: id },
      });
    }
    return row;
  }
}

/**
 * `revoked` is in the spec's enum but never produced here: deleting an enrollment removes the
 * record (as the spec's deleteEnrollment says), so there is no revoked row to show.
 */
export function stateOf(row: EnrollmentRow, now = Date.now()): EnrollmentView["state"] {
  if (row.used_at) return "used";
  if (Date.parse(row.expires_at) <= now) return "expired";
  return "pending";
}

function presentEnrollment(row: EnrollmentRow): EnrollmentView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    description: row.description,
    agent_name: row.agent_name,
    state: stateOf(row),
    created_at: row.created_at,
    expires_at: row.expires_at,
    used_at: row.used_at,
    agent_id: row.agent_id,
  };
}
