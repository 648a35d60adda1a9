import { stat } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { parse } from "yaml";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
beforeAll(async () => {
  t = await startTestController();
});
afterAll(() => t.stop());

async function createToken(verbs: string[], name = `token-${verbs.join("-")}`): Promise<string> {
  const { data, error } = await t
    .client()
    .POST("/v1/tokens", { body: { name, verbs: verbs as never } });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result.secret;
}

describe("first start", () => {
  it("writes the admin token to a 0600 file, says where in the log, and never logs the secret", async () => {
    const file = path.join(t.dataDir, "admin-token");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(t.logs.some((line) => line.includes(file))).toBe(true);
    expect(t.logs.join("\n")).not.toContain(t.adminToken);
  });

  it("keeps the database, which holds write-only secrets, readable by its owner only", async () => {
    const database = path.join(t.dataDir, "stowage.db");
    expect((await stat(database)).mode & 0o777).toBe(0o600);
    expect((await stat(`${database}-wal`)).mode & 0o777).toBe(0o600);
  });

  it("keeps its data and does not create a second admin token on restart", async () => {
    const restarted = await startTestController();
    try {
      const token = await restarted
        .client()
        .POST("/v1/tokens", { body: { name: "survivor", verbs: ["backup:read"] } });
      expect(token.response.status).toBe(201);
      await restarted.stop({ keepData: true });
      const again = await startTestController({ dataDir: restarted.dataDir });
      try {
        expect(again.controller.adminTokenFile).toBeUndefined();
        const { data } = await again.client(restarted.adminToken).GET("/v1/tokens");
        expect(data?.result.items.map((item) => item.name)).toEqual([
          "bootstrap-admin",
          "survivor",
        ]);
      } finally {
        await again.stop();
      }
    } catch (error) {
      await restarted.stop();
      throw error;
    }
  });
});

describe("tokens", () => {
  it("shows the secret once, stores only its hash, and never lists it", async () => {
    const { data, response } = await t
      .client()
      .POST("/v1/tokens", { body: { name: "ci", verbs: ["backup:read"] } });
    expect(response.status).toBe(201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const secret = data?.result.secret ?? "";
    expect(secret).toMatch(/^stw_/);
    expect(secret.startsWith(data?.result.prefix ?? "-")).toBe(true);

    const listed = await t.client().GET("/v1/tokens");
    expect(JSON.stringify(listed.data)).not.toContain(secret);
    const shown = await t
      .client()
      .GET("/v1/tokens/{token}", { params: { path: { token: data?.result.id ?? "" } } });
    expect(JSON.stringify(shown.data)).not.toContain(secret);

    const db = new Database(path.join(t.dataDir, "stowage.db"), { readonly: true });
    try {
      const dump =
        JSON.stringify(db.prepare("SELECT * FROM tokens").all()) +
        JSON.stringify(db.prepare("SELECT * FROM audit_entries").all());
      expect(dump).not.toContain(secret);
    } finally {
      db.close();
    }
    expect(t.logs.join("\n")).not.toContain(secret);
  });

  it("refuses a token with verbs its creator lacks", async () => {
    const limited = await createToken(["token:manage"]);
    const { response, error } = await t
      .client(limited)
      .POST("/v1/tokens", { body: { name: "escalate", verbs: ["admin:*"] } });
    expect(response.status).toBe(403);
    expect(error?.error.code).toBe("authz.denied");
  });

  it("stops working at once when revoked", async () => {
    const secret = await createToken(["backup:read"], "short-lived");
    expect((await t.client(secret).GET("/v1/healthz")).response.status).toBe(200);
    const list = await t.client().GET("/v1/tokens", { params: { query: { limit: 1000 } } });
    const id = list.data?.result.items.find((item) => item.name === "short-lived")?.id ?? "";
    const revoked = await t
      .client()
      .DELETE("/v1/tokens/{token}", { params: { path: { token: id } } });
    expect(revoked.data?.result.state).toBe("revoked");
    const after = await t.client(secret).GET("/v1/audit");
    expect(after.response.status).toBe(401);
    expect(after.error?.error.code).toBe("auth.invalid_token");
  });

  it("answers 403 for a token without the verb, even with an invalid body", async () => {
    const reader = await createToken(["backup:read"]);
    const { response, error } = await t
      .client(reader)
      .POST("/v1/tokens", { body: { name: "", verbs: [] } as never });
    expect(response.status).toBe(403);
    expect(error?.error.code).toBe("authz.denied");
  });

  it("pages with limit and an opaque marker, and refuses a forged marker", async () => {
    for (let i = 0; i < 3; i++) await createToken(["backup:read"], `page-${i}`);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const { data, response } = await t
        .client()
        .GET("/v1/tokens", { params: { query: { limit: 2, marker } } });
      expect(data?.result.items.length).toBeLessThanOrEqual(2);
      seen.push(...(data?.result.items.map((item) => item.id) ?? []));
      marker = data?.result.next_marker ?? undefined;
      if (marker) expect(response.headers.get("link")).toContain('rel="next"');
    } while (marker);
    expect(new Set(seen).size).toBe(seen.length);
    const all = await t.client().GET("/v1/tokens", { params: { query: { limit: 1000 } } });
    expect(seen).toEqual(all.data?.result.items.map((item) => item.id));

    const forged = await t
      .client()
      .GET("/v1/tokens", { params: { query: { marker: "not-a-marker" } } });
    expect(forged.response.status).toBe(400);
    expect(forged.error?.error.details?.[0].path).toBe("/query/marker");
  });
});

describe("tenants", () => {
  it("lets admin:* create one, whose resources another tenant's token cannot see (404, not 403)", async () => {
    const created = await t.client().POST("/v1/tenants", { body: { name: "acme" } });
    expect(created.response.status).toBe(201);
    const tenantId = created.data?.result.id ?? "";
    const acme = await t.client().POST("/v1/tokens", {
      body: { name: "acme-admin", verbs: ["token:manage"], tenant_id: tenantId },
    });
    const acmeSecret = acme.data?.result.secret ?? "";
    const ownTokens = await t.client().GET("/v1/tokens", { params: { query: { limit: 1000 } } });
    const foreignId = ownTokens.data?.result.items[0].id ?? "";
    const foreign = await t
      .client(acmeSecret)
      .GET("/v1/tokens/{token}", { params: { path: { token: foreignId } } });
    expect(foreign.response.status).toBe(404);
    expect(foreign.error?.error.code).toBe("resource.not_found");
    const duplicate = await t.client().POST("/v1/tenants", { body: { name: "acme" } });
    expect(duplicate.response.status).toBe(409);
  });

  it("lets only the root tenant's admins create tenants or tokens in another tenant", async () => {
    const tenant = await t.client().POST("/v1/tenants", { body: { name: "island" } });
    const islandId = tenant.data?.result.id ?? "";
    const islandAdmin = await t.client().POST("/v1/tokens", {
      body: { name: "island-admin", verbs: ["admin:*"], tenant_id: islandId },
    });
    const island = t.client(islandAdmin.data?.result.secret ?? "");
    const rootTenant = (await t.client().GET("/v1/tokens")).data?.result.items[0].tenant_id ?? "";
    const intoRoot = await island.POST("/v1/tokens", {
      body: { name: "escape", verbs: ["admin:*"], tenant_id: rootTenant },
    });
    expect(intoRoot.response.status).toBe(403);
    const newTenant = await island.POST("/v1/tenants", { body: { name: "island-two" } });
    expect(newTenant.response.status).toBe(403);
    const own = await island.POST("/v1/tokens", {
      body: { name: "local", verbs: ["backup:read"] },
    });
    expect(own.response.status).toBe(201);
  });

  it("refuses tenant administration without admin:*", async () => {
    const manager = await createToken(["token:manage"]);
    expect((await t.client(manager).GET("/v1/tenants")).response.status).toBe(403);
  });
});

describe("audit", () => {
  it("records every mutation with the actor, never a secret, and verifies its chain", async () => {
    const secret = await createToken(["audit:read"], "auditor");
    const { data } = await t
      .client(secret)
      .GET("/v1/audit", { params: { query: { limit: 1000 } } });
    const created = data?.result.items.find(
      (entry) => entry.action === "tokens.create" && entry.details.name === "auditor",
    );
    expect(created?.actor).toMatchObject({ type: "token", name: "bootstrap-admin" });
    expect(JSON.stringify(data)).not.toContain(secret);
    const verified = await t.client(secret).POST("/v1/audit/verify-chain");
    expect(verified.data?.result).toMatchObject({ ok: true, first_broken: null });
    expect(verified.data?.result.checked).toBeGreaterThan(3);
  });

  it("detects a row changed behind its back", async () => {
    const own = await startTestController();
    try {
      await own.client().POST("/v1/tokens", { body: { name: "one", verbs: ["backup:read"] } });
      await own.client().POST("/v1/tokens", { body: { name: "two", verbs: ["backup:read"] } });
      const db = new Database(path.join(own.dataDir, "stowage.db"));
      db.prepare("UPDATE audit_entries SET details = ? WHERE sequence = 3").run(
        JSON.stringify({ name: "forged" }),
      );
      db.close();
      const { data } = await own.client().POST("/v1/audit/verify-chain");
      expect(data?.result.ok).toBe(false);
      expect(data?.result.first_broken).toMatchObject({ sequence: 3, reason: "hash_mismatch" });
    } finally {
      await own.stop();
    }
  });
});

describe("meta routes", () => {
  it("answers GET / with 300 and the versions", async () => {
    const response = await fetch(`${t.url}/`);
    expect(response.status).toBe(300);
    expect(await response.json()).toMatchObject({ versions: [{ id: "v1", status: "CURRENT" }] });
  });

  it("serves JSON Home at /v1 listing the API's resources", async () => {
    const response = await fetch(`${t.url}/v1`);
    expect(response.headers.get("content-type")).toContain("application/json-home");
    const home = (await response.json()) as {
      resources: Record<string, { "href-template"?: string; href?: string }>;
    };
    const hrefs = Object.values(home.resources).map(
      (resource) => resource.href ?? resource["href-template"],
    );
    expect(hrefs).toEqual(
      expect.arrayContaining(["/v1/tokens", "/v1/deployments/{deployment}/backups"]),
    );
  });

  it("serves health, readiness, version and the spec it was generated from", async () => {
    expect((await t.client().GET("/v1/healthz")).data?.result.status).toBe("ok");
    expect((await t.client().GET("/v1/readyz")).data?.result.checks).toEqual([
      { name: "store", ok: true },
      { name: "signing_key", ok: true },
      { name: "scheduler", ok: true },
    ]);
    const version = await t.client().GET("/v1/version");
    expect(version.data?.result.spec_sha256).toMatch(/^[0-9a-f]{64}$/);
    const spec = parse(await (await fetch(`${t.url}/v1/openapi.yaml`)).text()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(spec.paths)).toContain("/v1/deployments/{deployment}/backups");
  });

  it("exposes Prometheus metrics by operation", async () => {
    await t.client().GET("/v1/healthz");
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/stowage_http_requests_total\{operation="getHealth",status="200"\} \d+/);
    expect(text).toContain("stowage_http_request_duration_seconds_bucket");
    expect(text).toMatch(/stowage_agents\{state="seen"\} \d+/);
    expect(text).toMatch(/stowage_jobs\{status="QUEUED"\} \d+/);
    expect(text).toMatch(/stowage_backups\{state="COMPLETED"\} \d+/);
  });

  it("logs one line per request with its request id and no credentials", async () => {
    const { response } = await t
      .client()
      .GET("/v1/tokens", { headers: { "x-request-id": "trace-me" } });
    expect(response.status).toBe(200);
    const line = t.logs.find((entry) => entry.includes('"request_id":"trace-me"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line ?? "{}")).toMatchObject({ operation: "listTokens", status: 200 });
    expect(t.logs.join("\n")).not.toContain(t.adminToken);
  });
});
