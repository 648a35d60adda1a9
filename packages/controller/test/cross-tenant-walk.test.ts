import { generateKeyPairSync } from "node:crypto";
import path from "node:path";
import type { ControlClient } from "@stowage/control-client";
import { enrollAgent } from "../src/services/agent-enrollment";
import { createStores } from "../src/services/control-context";
import { openDatabase, type Db } from "../src/store/database";
import { fillPath, isEnvelope, specOperations } from "./spec-operations";
import { startTestController, type TestController } from "./test-controller";

/**
 * Derived from the spec: a token of another tenant, holding every tenant-scoped verb, gets 404
 * (never 403, never the resource) on every operation that names one of tenant A's resources.
 * Tenant administration (`/v1/tenants`) is server-wide and walks separately.
 */
let t: TestController;
let db: Db;
let outsider: ControlClient;
let outsiderToken = "";
const ids: Record<string, string> = {};

const OUTSIDER_VERBS = [
  "backup:create",
  "backup:read",
  "backup:delete",
  "backup:hold",
  "restore:execute",
  "deployment:write",
  "agent:manage",
  "token:manage",
  "audit:read",
] as const;

beforeAll(async () => {
  t = await startTestController();
  db = openDatabase(path.join(t.dataDir, "stowage.db"));
  const admin = t.client();
  const must = <T>(answer: { data?: { result: T }; error?: unknown }): T => {
    if (!answer.data) throw new Error(JSON.stringify(answer.error));
    return answer.data.result;
  };

  ids.token = must(
    await admin.POST("/v1/tokens", { body: { name: "tenant-a", verbs: ["backup:read"] } }),
  ).id;
  const target = must(
    await admin.POST("/v1/targets", {
      body: { type: "file", name: "disk", url: "file:///var/backups" },
    }),
  );
  ids.target = target.id;
  const enrollment = must(await admin.POST("/v1/enrollments", { body: {} }));
  ids.enrollment = enrollment.id;
  const spare = must(await admin.POST("/v1/enrollments", { body: {} }));
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { agent } = enrollAgent(createStores(db), {
    enrollmentSecret: spare.token,
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  });
  ids.agent = agent.id;
  const deployment = must(
    await admin.POST("/v1/deployments", {
      body: {
        name: "db1",
        kind: "sqlite",
        connection: { path: "/srv/app.db" },
        driver: { type: "pull", agent_id: agent.id },
        target_ids: [target.id],
      },
    }),
  );
  ids.deployment = deployment.id;
  const job = await admin.requestAs(
    "post",
    "/v1/deployments/{deployment}/backups",
    "application/json",
    {
      params: { path: { deployment: deployment.id } },
      body: {},
    },
  );
  ids.job = job.data?.result.id ?? "";
  ids.backup = job.data?.result.backup_id ?? "";
  ids.restore = "rst_of_tenant_a";

  const tenant = must(await admin.POST("/v1/tenants", { body: { name: "tenant-b" } }));
  const token = must(
    await admin.POST("/v1/tokens", {
      body: { name: "outsider", verbs: [...OUTSIDER_VERBS], tenant_id: tenant.id },
    }),
  );
  outsiderToken = token.secret;
  outsider = t.client(outsiderToken);
});

afterAll(async () => {
  db.close();
  await t.stop();
});

/** A body each operation accepts, so the walk reaches the lookup (a 400 would come before the 404). */
const BODIES: Record<string, unknown> = {
  updateTarget: { type: "file", description: "moved" },
  updateDeployment: { description: "moved" },
  takeBackup: {},
  holdBackup: { reason: "legal" },
  createRestore: { backup_id: "latest" },
  issueAgentIdentity: {},
};

const PARAMETER_RESOURCE: Record<string, string> = {
  token: "token",
  target: "target",
  enrollment: "enrollment",
  agent: "agent",
  deployment: "deployment",
  backup: "backup",
  job: "job",
  restore: "restore",
};

const scoped = specOperations.filter(
  (operation) =>
    operation.secured && /\{/.test(operation.path) && !operation.path.startsWith("/v1/tenants"),
);

it("has resources of tenant A for every path parameter", () => {
  for (const operation of scoped) {
    for (const [, name] of operation.path.matchAll(/\{([^}]+)\}/g))
      expect(ids[PARAMETER_RESOURCE[name]]).toBeTruthy();
  }
  expect(scoped.length).toBeGreaterThan(25);
});

describe.each(scoped)("$method $path ($operationId)", (operation) => {
  it("answers 404 with the envelope to another tenant's token", async () => {
    const url = `${t.url}${fillPath(operation.path, (name) => ids[PARAMETER_RESOURCE[name]])}`;
    const body = BODIES[operation.operationId];
    const response = await fetch(url, {
      method: operation.method,
      headers: {
        authorization: `Bearer ${outsiderToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json()) as { error: { code: string } };
    expect(response.status).toBe(404);
    expect(isEnvelope(answer)).toBe(true);
    expect(answer.error.code).toBe("resource.not_found");
  });
});

describe("lists seen from another tenant", () => {
  it.each([
    "/v1/tokens",
    "/v1/targets",
    "/v1/deployments",
    "/v1/enrollments",
    "/v1/agents",
    "/v1/jobs",
  ] as const)("%s shows none of tenant A's resources", async (route) => {
    const { data } = await outsider.GET(route as "/v1/tokens", {
      params: { query: { limit: 1000 } },
    });
    const seen = JSON.stringify(data?.result.items ?? []);
    for (const id of Object.values(ids)) expect(seen).not.toContain(id);
  });
});
