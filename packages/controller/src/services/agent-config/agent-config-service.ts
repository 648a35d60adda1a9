import type { AgentConfigStore } from "../../store/agent-config-store";
import type { AgentPrincipal } from "../agent-principal";
import { endpointMap } from "../endpoint-map";
import { agentConfigInputs, type AgentConfigInputs } from "./agent-config-inputs";
import { configEtag, documentDigest } from "./config-etag";
import { renderConfigV1, type ConfigV1Document } from "./render-v1";
import { renderConfigV2, type ConfigV2Document } from "./render-v2";

export interface RenderedConfig<Document> {
  document: Document;
  /** Strong, quoted: the `ETag` of exactly these bytes. */
  etag: string;
}

/** Whose document: the agent-API principal, whose tenant bounds what is read. */
export type ConfigReader = Pick<AgentPrincipal, "agentId" | "tenantId" | "agentName">;

export interface AgentConfigOptions {
  /** This controller's URL as agents reach it. */
  publicUrl: () => string;
  /** Where reports go: here, another URL, or nowhere (its routes answer 410). */
  reporting: "here" | "off" | { url: string };
  /** `sha256:<hex>` of the certificate this controller serves; undefined on plain HTTP. */
  certificatePin?: string;
  /** How long a claimed job stays the agent's (JobsService's lease). */
  jobLeaseMs: number;
  /** The agent's own issued seed (base64), when it has one: mysql-backup's telemetry credentials. */
  telemetryCredentials?: (agentId: string) => string | undefined;
}

/** The claim parameters v2 hands agents; the claim route's `wait` allows at most 60. */
const CLAIM_WAIT_SECONDS = 30;
const CLAIM_RETRY_SECONDS = 15;

/**
 * Renders an agent's config document from its deployments, in v1 (databacker) or v2 (stowage),
 * with the strong `ETag` agents poll with.
 */
export class AgentConfigService {
  /**
   * v2's `generated_at` by agent: when the current content was first rendered. Kept while the
   * content is unchanged, so an unchanged document keeps its bytes and tag; after a restart the
   * first render starts again (each agent then fetches its document once more).
   */
  private readonly firstRendered = new Map<string, { digest: string; at: string }>();

  constructor(
    private readonly store: AgentConfigStore,
    private readonly options: AgentConfigOptions,
  ) {}

  renderV1(reader: ConfigReader): RenderedConfig<ConfigV1Document> {
    const document = renderConfigV1(this.inputs(reader), { telemetry: this.telemetry(reader) });
    return { document, etag: configEtag("v1", document) };
  }

  renderV2(reader: ConfigReader, now = new Date()): RenderedConfig<ConfigV2Document> {
    const content = renderConfigV2(this.inputs(reader), {
      jobs: {
        enabled: true,
        wait_seconds: CLAIM_WAIT_SECONDS,
        retry_interval_seconds: CLAIM_RETRY_SECONDS,
        max_concurrent: 1,
        lease_seconds: Math.max(1, Math.ceil(this.options.jobLeaseMs / 1000)),
      },
    });
    const digest = documentDigest(content);
    let first = this.firstRendered.get(reader.agentId);
    if (first?.digest !== digest) {
      first = { digest, at: now.toISOString() };
      this.firstRendered.set(reader.agentId, first);
    }
    const { version, instance, ...rest } = content;
    const document: ConfigV2Document = { version, instance, generated_at: first.at, ...rest };
    return { document, etag: configEtag("v2", document) };
  }

  private inputs(reader: ConfigReader): AgentConfigInputs {
    return agentConfigInputs(
      { id: reader.agentId, name: reader.agentName },
      this.store.read(reader.tenantId, reader.agentId),
    );
  }

  /**
   * mysql-backup exports OTLP traces to `spec.telemetry.url` over the same mTLS identity. The pin
   * is this controller's certificate, so it goes only with reports served here; elsewhere the
   * empty list leaves trust to the system's CAs (mysql-backup reads the list unconditionally).
   */
  private telemetry(
    reader: ConfigReader,
  ): { url: string; certificates: string[]; credentials?: string } | undefined {
    const { reporting, certificatePin } = this.options;
    if (reporting === "off") return undefined;
    const reportingUrl = reporting === "here" ? undefined : reporting.url;
    const base = endpointMap(this.options.publicUrl(), reportingUrl).reporting;
    const credentials = this.options.telemetryCredentials?.(reader.agentId);
    return {
      url: `${base}/telemetry/${encodeURIComponent(reader.agentId)}/traces`,
      certificates: reporting === "here" && certificatePin ? [certificatePin] : [],
      // The exception DESIGN 4 allows: this document goes only to this agent's own principal.
      ...(credentials === undefined ? {} : { credentials }),
    };
  }
}
