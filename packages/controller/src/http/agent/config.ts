import type { AgentHandlers } from "@stowage/agent-server";
import { AgentConfigStore } from "../../store/agent-config-store";
import { IdentitySeedsStore } from "../../store/identity-seeds-store";
import type { IdentitySeedVault } from "../../services/identity-seed-vault";
import { certificateFingerprint } from "../../services/agent-keys";
import { requireOwnInstance, type AgentPrincipal } from "../../services/agent-principal";
import {
  AgentConfigService,
  type AgentConfigOptions,
} from "../../services/agent-config/agent-config-service";
import type { Stores } from "../../services/control-context";
import type { JobsService } from "../../services/jobs-service";
import { ifNoneMatchMatches } from "./if-none-match";

export interface ConfigHandlerDeps {
  stores: Stores;
  /** Its lease is told to agents in v2's `jobs`. */
  jobs: Pick<JobsService, "settings">;
  publicUrl: () => string;
  reporting: AgentConfigOptions["reporting"];
  /** The PEM certificate served over HTTPS (`--tls-cert`), pinned in v1's `spec.telemetry`. */
  tlsCertificatePem?: string;
  /** Opens issued seeds for v1's `spec.telemetry.credentials`. */
  seedVault?: IdentitySeedVault;
}

/**
 * The document carries database and target credentials: only the agent's own principal gets it
 * (404 for any other instance), and `no-store` keeps every HTTP cache from keeping a copy.
 */
const NO_STORE = "no-store";

export function configHandlers(
  deps: ConfigHandlerDeps,
): Pick<AgentHandlers<AgentPrincipal>, "getConfig"> {
  const seeds = new IdentitySeedsStore(deps.stores.db);
  const configs = new AgentConfigService(new AgentConfigStore(deps.stores.db), {
    publicUrl: deps.publicUrl,
    reporting: deps.reporting,
    certificatePin:
      deps.tlsCertificatePem === undefined
        ? undefined
        : certificateFingerprint(deps.tlsCertificatePem),
    jobLeaseMs: deps.jobs.settings.leaseMs,
    telemetryCredentials: (agentId) => {
      const sealed = seeds.get(agentId);
      return sealed && deps.seedVault?.open(sealed, agentId)?.toString("base64");
    },
  });
  return {
    getConfig: (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      const headers = (etag: string) => ({ etag, "cache-control": NO_STORE });
      // Rendered before the condition is checked: a v1 that cannot be expressed is 406 whatever
      // tag the agent holds, and the tag compared is that of the document as it is now.
      const notModified = (etag: string) => ifNoneMatchMatches(ctx.headers["if-none-match"], etag);
      if (ctx.accept === "application/vnd.stowage.agent-config.v2+json") {
        const { document, etag } = configs.renderV2(ctx.principal);
        return notModified(etag)
          ? { status: 304, headers: headers(etag) }
          : { status: 200, headers: headers(etag), contentType: ctx.accept, body: document };
      }
      const { document, etag } = configs.renderV1(ctx.principal);
      return notModified(etag)
        ? { status: 304, headers: headers(etag) }
        : { status: 200, headers: headers(etag), contentType: ctx.accept, body: document };
    },
  };
}
