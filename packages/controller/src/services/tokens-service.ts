import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { TokenRow } from "../store/tokens-store";
import type { CallContext, Stores } from "./control-context";
import { newId, nowIso } from "./identifiers";
import { pageRequest, toPage } from "./pagination";
import { actorOf, grants, SYSTEM_ACTOR, type OperatorPrincipal } from "./principal";
import { GenerationCache } from "./generation-cache";
import { hashTokenSecret, newTokenSecret } from "./token-secrets";

type Call = CallContext<OperatorPrincipal>;
type Verb = components["schemas"]["Verb"];

/** As the spec's `Token` (a type, not an interface: results are checked against `Record<string, unknown>`). */
export type TokenView = {
  id: string;
  tenant_id: string;
  name: string;
  verbs: Verb[];
  prefix: string;
  state: "active" | "expired" | "revoked";
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
};

export interface TokenInput {
  name: string;
  verbs: Verb[];
  tenant_id?: string;
  expires_at?: string | null;
}

/** `last_used_at` is written at most this often per token: a write per request would cost throughput. */
const TOUCH_INTERVAL_MS = 60_000;

interface CachedPrincipal {
  principal: OperatorPrincipal;
  /** When the token expires (epoch ms); `null` if it does not. */
  expiresAt: number | null;
  /** When its `last_used_at` was last written (epoch ms; 0 if never). */
  touchedAt: number;
}

export class TokensService {
  /**
   * Principals of tokens in use by secret hash, so a request skips the token's row and the parse
   * of its verbs and dates. `token_changes` moves whenever a token is revoked, deleted (its
   * tenant too) or gets other verbs or another expiry, whichever connection or process does it,
   * so such a token is refused at its next request; expiry is checked on every hit. Today the
   * controller is the only process that opens its database (the operator CLI uses the API).
   */
  private readonly principals: GenerationCache<CachedPrincipal>;

  constructor(private readonly stores: Stores) {
    this.principals = new GenerationCache(10_000, stores.changes, () => stores.tokens.generation());
  }

  /** The principal for a bearer secret; a token that is unknown, revoked or expired is a 401. */
  authenticate(secret: string): OperatorPrincipal {
    const hash = hashTokenSecret(secret);
    const now = Date.now();
    this.principals.refresh();
    const cached = this.principals.get(hash);
    if (cached && (cached.expiresAt === null || now < cached.expiresAt)) {
      if (now - cached.touchedAt > TOUCH_INTERVAL_MS) {
        this.stores.tokens.touch(cached.principal.tokenId, new Date(now).toISOString());
        cached.touchedAt = now;
      }
      return cached.principal;
    }
    const row = this.stores.tokens.bySecretHash(hash);
    const state = row ? stateOf(row) : undefined;
    if (!row || state !== "active") {
      throw new ApiError(
        401,
        "auth.invalid_token",
        state ? `The token is ${state}.` : "The token is not valid.",
      );
    }
    let touchedAt = row.last_used_at ? Date.parse(row.last_used_at) : 0;
    if (now - touchedAt > TOUCH_INTERVAL_MS) {
      this.stores.tokens.touch(row.id, new Date(now).toISOString());
      touchedAt = now;
    }
    const principal: OperatorPrincipal = {
      kind: "token",
      tokenId: row.id,
      tokenName: row.name,
      tenantId: row.tenant_id,
      verbs: new Set(JSON.parse(row.verbs) as string[]),
    };
    this.principals.set(hash, {
      principal,
      expiresAt: row.expires_at ? Date.parse(row.expires_at) : null,
      touchedAt,
    });
    return principal;
  }

  create(call: Call, input: TokenInput): TokenView & { secret: string } {
    const tenantId = input.tenant_id ?? call.principal.tenantId;
    if (tenantId !== call.principal.tenantId) {
      if (!grants(call.principal, "admin:*")) {
        throw new ApiError(
          403,
          "authz.denied",
          "Creating a token in another tenant needs admin:*.",
        );
      }
      // Only the root tenant administers others. The answer is the same whether the tenant exists
      // or not, so a tenant's admin learns nothing about the others.
      if (this.stores.tenants.root()?.id !== call.principal.tenantId) {
        throw new ApiError(
          403,
          "authz.denied",
          "Only the root tenant's admin tokens act in other tenants.",
        );
      }
    }
    const withheld = input.verbs.filter((verb) => !grants(call.principal, verb));
    if (withheld.length > 0) {
      throw new ApiError(
        403,
        "authz.denied",
        `A token cannot grant verbs its creator lacks: ${withheld.join(", ")}.`,
      );
    }
    return this.stores.db.transaction(() => {
      if (!this.stores.tenants.byId(tenantId)) {
        // createToken documents no 404: a tenant_id naming no tenant is a bad request.
        throw new ApiError(400, "request.invalid", `No tenant ${tenantId}.`, {
          details: [{ path: "/body/tenant_id", message: "names no tenant" }],
        });
      }
      const { secret, row } = this.insert(tenantId, input);
      this.stores.auditLog.append({
        tenantId,
        actor: actorOf(call.principal),
        action: "tokens.create",
        subject: { token: row.id },
        details: { name: row.name, verbs: input.verbs, expires_at: row.expires_at },
        requestId: call.requestId,
      });
      return { ...present(row), secret };
    })();
  }

  /** The first admin token of a new server: created by the system, not by a caller. */
  bootstrapAdmin(tenantId: string): string {
    const { secret, row } = this.insert(tenantId, { name: "bootstrap-admin", verbs: ["admin:*"] });
    this.stores.auditLog.append({
      tenantId,
      actor: SYSTEM_ACTOR,
      action: "tokens.create",
      subject: { token: row.id },
      details: { name: row.name, verbs: ["admin:*"], expires_at: null },
    });
    return secret;
  }

  list(call: Call, query: { limit?: number; marker?: string }) {
    const request = pageRequest(query);
    const rows = this.stores.tokens.page(
      call.principal.tenantId,
      request.after ?? "",
      request.limit + 1,
    );
    const page = toPage(rows, request, (row) => row.id);
    return { items: page.items.map(present), next_marker: page.next_marker };
  }

  get(call: Call, id: string): TokenView {
    return present(this.row(call, id));
  }

  revoke(call: Call, id: string): TokenView {
    return this.stores.db.transaction(() => {
      const row = this.row(call, id);
      if (!row.revoked_at) {
        const at = nowIso();
        this.stores.tokens.revoke(id, call.principal.tenantId, at);
        this.stores.auditLog.append({
          tenantId: call.principal.tenantId,
          actor: actorOf(call.principal),
          action: "tokens.revoke",
          subject: { token: id },
          details: { name: row.name },
          requestId: call.requestId,
        });
      }
      return present(this.row(call, id));
    })();
  }

  private row(call: Call, id: string): TokenRow {
    // Another tenant's token is 404, never 403: its existence is not the caller's business.
    const row = this.stores.tokens.byId(id, call.principal.tenantId);
    if (!row)
      throw new ApiError(404, "resource.not_found", `No token ${id}.`, { subject: { token: id } });
    return row;
  }

  private insert(tenantId: string, input: TokenInput): { secret: string; row: TokenRow } {
    const { secret, hash, prefix } = newTokenSecret();
    const row: TokenRow = {
      id: newId("tok"),
      tenant_id: tenantId,
      name: input.name,
      verbs: JSON.stringify([...new Set(input.verbs)].sort()),
      secret_hash: hash,
      prefix,
      created_at: nowIso(),
      expires_at: input.expires_at ?? null,
      last_used_at: null,
      revoked_at: null,
    };
    this.stores.tokens.insert(row);
    return { secret, row };
  }
}

function stateOf(row: TokenRow): TokenView["state"] {
  if (row.revoked_at) return "revoked";
  if (row.expires_at && Date.parse(row.expires_at) <= Date.now()) return "expired";
  return "active";
}

function present(row: TokenRow): TokenView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    verbs: JSON.parse(row.verbs) as Verb[],
    prefix: row.prefix,
    state: stateOf(row),
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}
