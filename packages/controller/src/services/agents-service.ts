import { randomBytes } from "node:crypto";
import { ApiError } from "@stowage/server-runtime";
import type { components } from "@stowage/control-server";
import type { AgentRow } from "../store/agents-store";
import { IdentitySeedsStore } from "../store/identity-seeds-store";
import {
  certificateFingerprint,
  ed25519FromSeed,
  publicKeyFingerprint,
  publicKeyPem,
} from "./agent-keys";
import type { CallContext, Stores } from "./control-context";
import type { IdentitySeedVault } from "./identity-seed-vault";
import { nowIso } from "./identifiers";
import type { JobsService } from "./jobs-service";
import { pageRequest, toPage } from "./pagination";
import { actorOf, type OperatorPrincipal } from "./principal";

type Call = CallContext<OperatorPrincipal>;
export type AgentView = components["schemas"]["Agent"];
type AgentIdentity = components["schemas"]["AgentIdentity"];
type AgentIdentityRequest = components["schemas"]["AgentIdentityRequest"];

/** What the controller tells agents about itself: where it is and which certificate it serves. */
export interface AgentEndpoint {
  /** The base URL agents reach the controller at (e.g. `https://host:8443`), known once listening. */
  publicUrl(): string;
  /** The PEM certificate served over HTTPS (`--tls-cert`); issued identities pin it. */
  tlsCertificatePem?: string;
  /** Seals issued seeds, so the agent's v1 config can hand its seed back as telemetry credentials. */
  seedVault?: IdentitySeedVault;
}

export class AgentsService {
  /** `sha256:<hex>` of the served certificate, computed once; undefined when serving plain HTTP. */
  private readonly certificatePin: string | undefined;
  private readonly seeds: IdentitySeedsStore;

  constructor(
    private readonly stores: Stores,
    tlsCertificatePem: string | undefined,
    /** The job state machine: revoking an agent requeues the jobs it holds. */
    private readonly jobs: JobsService,
    private readonly seedVault?: IdentitySeedVault,
  ) {
    this.seeds = new IdentitySeedsStore(stores.db);
    this.certificatePin =
      tlsCertificatePem === undefined ? undefined : certificateFingerprint(tlsCertificatePem);
  }

  list(call: Call, query: { limit?: number; marker?: string }) {
    const request = pageRequest(query);
    const rows = this.stores.agents.page(
      call.principal.tenantId,
      request.after === undefined ? undefined : decodeNameKey(request.after),
      request.limit + 1,
    );
    const page = toPage(rows, request, (row) => JSON.stringify([row.name, row.id]));
    // One grouped query for the page, not one per agent.
    const inFlight = this.stores.jobs.runningCounts(page.items.map((row) => row.id));
    return {
      items: page.items.map((row) => presentAgent(row, inFlight.get(row.id) ?? 0)),
      next_marker: page.next_marker,
    };
  }

  get(call: Call, id: string): AgentView {
    return this.present(this.row(call, id));
  }

  /**
   * Revoked at once: the agent API checks `isAgentActive` on every request, so its access tokens,
   * enrolled key and issued identity stop working with this commit, and the jobs it held are
   * requeued (once, then failed) in the same commit, as on a lost lease. Idempotent.
   */
  revoke(call: Call, id: string): AgentView {
    return this.stores.db.transaction(() => {
      const row = this.row(call, id);
      if (!row.revoked_at) {
        const at = new Date();
        this.stores.agents.revoke(id, call.principal.tenantId, at.toISOString());
        // A revoked agent fetches no config again: its sealed seed has no use left.
        this.seeds.delete(id);
        const released = this.jobs.releaseAgentJobs(id, at);
        this.stores.auditLog.append({
          tenantId: call.principal.tenantId,
          actor: actorOf(call.principal),
          action: "agents.revoke",
          subject: { agent: id },
          details: {
            name: row.name,
            ...(released.requeued.length > 0 ? { jobs_requeued: released.requeued } : {}),
            ...(released.failed.length > 0 ? { jobs_failed: released.failed } : {}),
            ...(released.cancelled.length > 0 ? { jobs_cancelled: released.cancelled } : {}),
          },
          requestId: call.requestId,
        });
      }
      return this.present(this.row(call, id));
    })();
  }

  /**
   * A databacker-style identity: a random 32-byte seed, the derived Ed25519 public key, and the
   * `kind: remote` bootstrap document that hands the seed to mysql-backup. The seed is kept only
   * sealed (IdentitySeedVault), for the telemetry credentials of that agent's own v1 config;
   * without a vault it is not kept at all.
   */
  issueIdentity(
    call: Call,
    id: string,
    input: AgentIdentityRequest,
    publicUrl: string,
  ): AgentIdentity {
    const seed = randomBytes(32);
    const identity = ed25519FromSeed(seed);
    const fingerprint = publicKeyFingerprint(identity.publicKey);
    const issuedAt = nowIso();
    const { row, replaced, pin } = this.stores.db.transaction(() => {
      const row = this.row(call, id);
      if (row.revoked_at) {
        throw new ApiError(409, "resource.conflict", `Agent ${id} is revoked.`, {
          subject: { agent: id },
          suggestion: { human: "Enroll a new agent and issue the identity to it." },
        });
      }
      const replaced = row.identity_fingerprint !== null;
      if (replaced && input.replace !== true) {
        throw new ApiError(409, "resource.conflict", `Agent ${id} already has an identity.`, {
          subject: { agent: id },
          suggestion: {
            human:
              "Pass replace: true to issue a new one; the old seed stops working at once, so " +
              "update the agent's bootstrap config right after.",
          },
        });
      }
      // mysql-backup refuses a server it cannot pin, so an identity without a pin is useless.
      if (this.certificatePin === undefined) {
        throw new ApiError(
          412,
          "precondition.failed",
          "The controller serves no TLS certificate, so a bootstrap document cannot pin one.",
          {
            subject: { agent: id },
            suggestion: {
              human:
                "Start the controller with --tls-cert and --tls-key (a certificate whose SAN names " +
                "the host agents connect to), then issue the identity again.",
              command: "stowage-controller serve --tls-cert server.pem --tls-key server-key.pem",
            },
          },
        );
      }
      this.stores.agents.setIdentity({
        id,
        tenant_id: call.principal.tenantId,
        identity_public_key: publicKeyPem(identity.publicKey),
        identity_fingerprint: fingerprint,
        identity_issued_at: issuedAt,
      });
      if (this.seedVault) this.seeds.put(id, this.seedVault.seal(seed, id));
      else this.seeds.delete(id);
      this.stores.auditLog.append({
        tenantId: call.principal.tenantId,
        actor: actorOf(call.principal),
        action: "agents.issue_identity",
        subject: { agent: id },
        // The public key's fingerprint only: the seed is a secret and never leaves this answer.
        details: { fingerprint, replaced },
        requestId: call.requestId,
      });
      return { row, replaced, pin: this.certificatePin };
    })();
    return {
      agent_id: row.id,
      public_key: identity.rawPublicKey.toString("base64"),
      fingerprint,
      issued_at: issuedAt,
      replaced,
      bootstrap: {
        version: "config.databack.io/v1",
        kind: "remote",
        metadata: { name: `bootstrap-${row.name}` },
        spec: {
          url: input.config_url ?? `${publicUrl}/engines/config/${encodeURIComponent(row.id)}`,
          credentials: seed.toString("base64"),
          certificates: [pin],
        },
      },
    };
  }

  private present(row: AgentRow): AgentView {
    return presentAgent(row, this.stores.jobs.runningCounts([row.id]).get(row.id) ?? 0);
  }

  private row(call: Call, id: string): AgentRow {
    // Another tenant's agent is 404, never 403: existence does not leak.
    const row = this.stores.agents.byId(id, call.principal.tenantId);
    if (!row)
      throw new ApiError(404, "resource.not_found", `No agent ${id}.`, { subject: { agent: id } });
    return row;
  }
}

/** The agents page key is `[name, id]` as JSON inside the opaque marker; anything else is forged. */
function decodeNameKey(after: string): [string, string] {
  try {
    const key: unknown = JSON.parse(after);
    if (
      Array.isArray(key) &&
      key.length === 2 &&
      typeof key[0] === "string" &&
      typeof key[1] === "string"
    ) {
      return [key[0], key[1]];
    }
  } catch {
    // Falls through to the 400 below.
  }
  throw new ApiError(400, "request.invalid", "The marker is not one this server issued.", {
    details: [{ path: "/query/marker", message: "is not a valid marker" }],
  });
}

/** `inFlightJobs`: the jobs it has claimed and not completed (RUNNING, leased to it). */
export function presentAgent(row: AgentRow, inFlightJobs: number): AgentView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    hostname: row.hostname,
    version: row.version,
    state: row.revoked_at ? "revoked" : "active",
    auth_method: row.auth_method ?? "none",
    public_key_fingerprint: row.public_key_fingerprint,
    identity_issued_at: row.identity_issued_at,
    enrollment_id: row.enrollment_id,
    enrolled_at: row.enrolled_at,
    last_seen_at: row.last_seen_at,
    in_flight_jobs: inFlightJobs,
    revoked_at: row.revoked_at,
  };
}
