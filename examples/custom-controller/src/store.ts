import { createHash, randomBytes, type KeyObject } from "node:crypto";
import type { components } from "./generated/types";
import type { EnrolledKey } from "./token";

export type ConfigV1 = components["schemas"]["ConfigV1"];
export type ConfigV2 = components["schemas"]["ConfigV2"];

/** The config an operator attaches to an enrollment token, minus what only enrollment knows. */
export interface ConfigTemplate {
  /**
   * Leave out when the deployments cannot be said in v1: a v1 request is then answered 406 with
   * a pointer to v2, as the spec asks, rather than with a document that silently drops things.
   */
  v1?: ConfigV1;
  v2: Omit<ConfigV2, "instance" | "generated_at">;
}

export interface Representation<Document> {
  document: Document;
  /** Computed once per document, so that polling with `If-None-Match` costs a string compare. */
  etag: string;
}

export interface InstanceConfig {
  v1?: Representation<ConfigV1>;
  v2: Representation<ConfigV2>;
}

export interface EnrolledAgent extends EnrolledKey {
  instance: string;
  enrolledAt: string;
  hostname?: string;
  agentVersion?: string;
}

export type EnrollResult =
  | { ok: true; agent: EnrolledAgent }
  | { ok: false; reason: "invalid_token" | "key_conflict"; instance?: string };

/**
 * Everything the example controller knows, in memory: a real controller keeps the same three
 * things in a database (and renders configs from its deployments instead of storing them).
 */
export class AgentStore {
  /** Keyed by the token's SHA-256, so the store never holds a usable token and a lookup leaks nothing about one. */
  private readonly enrollmentTokens = new Map<string, ConfigTemplate>();
  private readonly agents = new Map<string, EnrolledAgent>();
  private readonly instanceByThumbprint = new Map<string, string>();
  private readonly configs = new Map<string, InstanceConfig>();

  /** What an operator does through the control API: hand out a one-time token for an agent-to-be. */
  addEnrollmentToken(token: string, config: ConfigTemplate): void {
    this.enrollmentTokens.set(digest(token), config);
  }

  hasEnrollmentToken(token: string): boolean {
    return this.enrollmentTokens.has(digest(token));
  }

  /**
   * Spends the token and records the agent. Synchronous on purpose: with no `await` between the
   * check and the delete, two concurrent calls with one token cannot both succeed.
   */
  enroll(
    token: string,
    key: KeyObject,
    thumbprint: string,
    meta: { hostname?: string; agentVersion?: string } = {},
    now = new Date(),
  ): EnrollResult {
    const template = this.enrollmentTokens.get(digest(token));
    if (!template) return { ok: false, reason: "invalid_token" };
    const holder = this.instanceByThumbprint.get(thumbprint);
    if (holder !== undefined) return { ok: false, reason: "key_conflict", instance: holder };
    this.enrollmentTokens.delete(digest(token));
    const agent: EnrolledAgent = {
      instance: `inst-${randomBytes(8).toString("hex")}`,
      key,
      thumbprint,
      enrolledAt: now.toISOString(),
      ...meta,
    };
    this.agents.set(agent.instance, agent);
    this.instanceByThumbprint.set(thumbprint, agent.instance);
    this.setConfig(agent.instance, template, now);
    return { ok: true, agent };
  }

  agent(instance: string): EnrolledAgent | undefined {
    return this.agents.get(instance);
  }

  /** Replaces an agent's config (an operator changed its deployments); the ETags change with it. */
  setConfig(instance: string, template: ConfigTemplate, now = new Date()): void {
    if (!this.agents.has(instance)) throw new Error(`no agent ${instance}`);
    const v2: ConfigV2 = { ...template.v2, instance, generated_at: now.toISOString() };
    this.configs.set(instance, {
      v1: template.v1 && represent("v1", template.v1),
      v2: represent("v2", v2),
    });
  }

  config(instance: string): InstanceConfig | undefined {
    return this.configs.get(instance);
  }
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/** A strong tag per representation: the version prefix keeps v1 and v2 tags apart even for equal JSON. */
function represent<Document>(version: string, document: Document): Representation<Document> {
  const hash = createHash("sha256").update(JSON.stringify(document)).digest("base64url");
  return { document, etag: `"${version}-${hash.slice(0, 27)}"` };
}
