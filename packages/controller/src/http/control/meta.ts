import { ApiError } from "@stowage/server-runtime";
import { operationDescriptors, specSha256, type ControlHandlers } from "@stowage/control-server";
import type { Registry } from "prom-client";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";
import { docsPage } from "../docs-page";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  | "listApiVersions"
  | "getJsonHome"
  | "getHealth"
  | "getReadiness"
  | "getVersion"
  | "getMetrics"
  | "getOpenApiSpec"
  | "getDocs"
>;

export interface MetaDependencies {
  version: string;
  /** The served spec as YAML, rendered once at start. */
  specYaml: string;
  /** When the spec last changed: the controller's start, since the spec is built in. */
  startedAt: string;
  registry: Registry;
  readiness(): { name: "store" | "signing_key" | "scheduler"; ok: boolean; message?: string }[];
}

export function metaHandlers(deps: MetaDependencies): Handlers {
  const home = jsonHome();
  return {
    listApiVersions: () => ({
      status: 300,
      body: {
        versions: [
          {
            id: "v1",
            status: "CURRENT",
            updated: deps.startedAt,
            links: [
              { rel: "self", href: "/v1", type: "application/json-home" },
              { rel: "describedby", href: "/v1/openapi.yaml", type: "application/yaml" },
            ],
          },
        ],
      },
    }),
    getJsonHome: (ctx) => ({ status: 200, contentType: ctx.accept, body: home }),
    getHealth: () => ({ status: 200, body: envelope("health.check", { status: "ok" as const }) }),
    getReadiness: () => {
      const checks = deps.readiness();
      const failed = checks.filter((check) => !check.ok);
      if (failed.length > 0) {
        throw new ApiError(503, "storage.unavailable", "The controller is not ready.", {
          details: failed.map((check) => ({
            path: `/checks/${check.name}`,
            message: check.message ?? "failed",
          })),
          headers: { "retry-after": "5" },
        });
      }
      return { status: 200, body: envelope("health.ready", { status: "ready" as const, checks }) };
    },
    getVersion: () => ({
      status: 200,
      body: envelope("version.get", {
        version: deps.version,
        api_version: "v1" as const,
        commit: process.env.STOWAGE_COMMIT ?? null,
        built_at: null,
        spec_sha256: specSha256,
      }),
    }),
    getMetrics: async () => ({
      status: 200,
      headers: { "content-type": deps.registry.contentType },
      body: await deps.registry.metrics(),
    }),
    getOpenApiSpec: () => ({ status: 200, body: deps.specYaml }),
    getDocs: () => ({ status: 200, body: docsPage() }),
  };
}

/** JSON Home (draft-nottingham-json-home) derived from the operations table, so it never drifts from the spec. */
function jsonHome() {
  const resources: Record<
    string,
    {
      href?: string;
      "href-template"?: string;
      "href-vars"?: Record<string, string>;
      hints: { allow: ("GET" | "POST" | "PATCH" | "DELETE")[] };
    }
  > = {};
  for (const descriptor of Object.values(operationDescriptors)) {
    if (!descriptor.path.startsWith("/v1/")) continue;
    const name = descriptor.path
      .slice(4)
      .replace(/\{([^}]+)\}/g, "$1")
      .replace(/[^a-z0-9]+/gi, "-")
      .replace(/-+$/, "");
    const rel = `urn:stowage:rel:${name}`;
    const variables = [...descriptor.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
    const resource = (resources[rel] ??= {
      ...(variables.length > 0
        ? {
            "href-template": descriptor.path,
            "href-vars": Object.fromEntries(
              variables.map((variable) => [variable, `urn:stowage:param:${variable}`]),
            ),
          }
        : { href: descriptor.path }),
      hints: { allow: [] },
    });
    const method = descriptor.method.toUpperCase() as "GET" | "POST" | "PATCH" | "DELETE";
    if (!resource.hints.allow.includes(method)) resource.hints.allow.push(method);
  }
  return {
    api: { title: "stowage control API", links: { describedBy: "/v1/openapi.yaml" } },
    resources,
  };
}
