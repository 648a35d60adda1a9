import { ApiError } from "@stowage/server-runtime";
import type { Principal } from "../auth";
import type { AgentHandlers } from "../generated/handlers";
import type { AgentStore } from "../store";

const V1 = "application/vnd.stowage.agent-config.v1+json";
const V2 = "application/vnd.stowage.agent-config.v2+json";

/** Operations tagged `config`. */
export function configHandlers(store: AgentStore): Pick<AgentHandlers<Principal>, "getConfig"> {
  return {
    /** GET /engines/config/{instance}. Replies: 200, 301, 304, 400, 401, 403, 404, 406, 410, 429, 500, 503. */
    getConfig(ctx) {
      const { instance } = ctx.params;
      // Another agent's instance is answered exactly like one that does not exist, so that
      // instance ids do not leak (the spec's rule for the `instance` parameter).
      const config = ctx.principal.instance === instance ? store.config(instance) : undefined;
      if (!config) throw new ApiError(404, "resource.not_found", `No config for ${instance}.`);

      // The router has already negotiated `Accept` (aliases and the no-`Accept` default
      // included) and set `Vary: Accept`, so `ctx.accept` is one of the two versions.
      // Lower-case on purpose: Node lower-cases header names, so the spec-cased key that
      // `ctx.headers` is typed with ("If-None-Match") is never set at run time.
      const ifNoneMatch = ctx.headers["if-none-match"];
      if (ctx.accept === V2) {
        const { document, etag } = config.v2;
        if (matches(ifNoneMatch, etag)) return { status: 304, headers: headersFor(etag) };
        return { status: 200, contentType: V2, body: document, headers: headersFor(etag) };
      }
      if (!config.v1) {
        throw new ApiError(
          406,
          "request.not_acceptable",
          "This agent's deployments cannot be expressed in config v1.",
          { suggestion: { human: `Ask for ${V2}.` } },
        );
      }
      const { document, etag } = config.v1;
      if (matches(ifNoneMatch, etag)) return { status: 304, headers: headersFor(etag) };
      return { status: 200, contentType: V1, body: document, headers: headersFor(etag) };
    },
  };
}

/** The document carries credentials: no cache may keep it (the agent keeps its own copy and tag). */
function headersFor(etag: string): Record<string, string> {
  return { ETag: etag, "Cache-Control": "no-store" };
}

/** RFC 9110 13.1.2: `*`, or any listed tag equal under weak comparison (a `W/` prefix is ignored). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const tags = ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return tags.some((tag) => tag.replace(/^W\//, "") === etag);
}
