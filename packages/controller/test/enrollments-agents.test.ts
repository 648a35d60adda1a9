/**
 * The control-API side of agent identity: enrollments, agents, revocation and databacker-style
 * identities. The agent API does not exist yet, so enrollment is driven through the service
 * functions its handlers will call (`enrollAgent` & co.), on a second connection to the same
 * database file as the running controller.
 */
import { execFileSync } from "node:child_process";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Ajv from "ajv";
import { Agent as UndiciAgent } from "undici";
import { parse } from "yaml";
import { ConfigV1Schema } from "@stowage/agent-client";
import { createControlClient } from "@stowage/control-client";
import { ApiError } from "@stowage/server-runtime";
import { sharedAvailable, sharedDir } from "../../../scripts/test-support/shared-dir";
import {
  agentByPublicKeyFingerprint,
  enrollAgent,
  isAgentActive,
  recordAgentSeen,
} from "../src/services/agent-enrollment";
import { createStores, type Stores } from "../src/services/control-context";
import { openDatabase, type Db } from "../src/store/database";
import { startTestController, type TestController } from "./test-controller";

/** Opens the controller's database beside it (WAL lets both connections work at once). */
function openStores(controller: TestController): { stores: Stores; db: Db } {
  const db = openDatabase(path.join(controller.dataDir, "stowage.db"));
  return { stores: createStores(db), db };
}

function p256(): { publicKey: KeyObject; pem: string } {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { publicKey, pem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

function spkiFingerprint(key: KeyObject): string {
  const der = key.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

/** What the ApiError thrown by a service call says, for `expect`. */
function refusal(call: () => unknown): { status: number; code: string } | "no error" {
  try {
    call();
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code };
    throw error;
  }
  return "no error";
}

function dumpTables(db: Db, tables: string[]): string {
  return tables.map((table) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all())).join();
}

async function createToken(
  t: TestController,
  verbs: string[],
  options: { tenantId?: string; name?: string } = {},
): Promise<string> {
  const { data, error } = await t.client().POST("/v1/tokens", {
    body: {
      name: options.name ?? `token-${verbs.join("-")}`,
      verbs: verbs as never,
      ...(options.tenantId ? { tenant_id: options.tenantId } : {}),
    },
  });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result.secret;
}

async function createEnrollment(
  t: TestController,
  body: { ttl_seconds?: number; description?: string; agent_name?: string } = {},
  token?: string,
) {
  const { data, error } = await t.client(token).POST("/v1/enrollments", { body });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result;
}

describe("enrollments and agents over HTTP", () => {
  let t: TestController;
  let stores: Stores;
  let db: Db;
  beforeAll(async () => {
    t = await startTestController();
    ({ stores, db } = openStores(t));
  });
  afterAll(async () => {
    db.close();
    await t.stop();
  });

  /** Enrolls a fresh agent through the service function the agent API will call. */
  async function enrolledAgent(agentName?: string) {
    const enrollment = await createEnrollment(t, agentName ? { agent_name: agentName } : {});
    const key = p256();
    const { agent } = enrollAgent(stores, {
      enrollmentSecret: enrollment.token,
      publicKey: key.pem,
      hostname: "db-host.internal",
      version: "stowage-agent 0.1.0",
    });
    return { agent, key, enrollment };
  }

  describe("createEnrollment", () => {
    it("shows the secret once, with no-store, and keeps only its SHA-256", async () => {
      const { data, response } = await t.client().POST("/v1/enrollments", {
        body: { ttl_seconds: 600, description: "orders-db host", agent_name: "orders-db-1" },
      });
      expect(response.status).toBe(201);
      expect(response.headers.get("cache-control")).toBe("no-store");
      const created = data?.result;
      if (!created) throw new Error("no result");
      expect(response.headers.get("location")).toBe(`/v1/enrollments/${created.id}`);
      expect(created.token).toMatch(/^enr_tok_[A-Za-z0-9_-]{43}$/);
      expect(created.enroll_url).toBe(`${t.url}/engines/enroll`);
      expect(created).toMatchObject({
        state: "pending",
        description: "orders-db host",
        agent_name: "orders-db-1",
        used_at: null,
        agent_id: null,
      });
      expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(600_000);

      const listed = await t.client().GET("/v1/enrollments");
      const shown = await t
        .client()
        .GET("/v1/enrollments/{enrollment}", { params: { path: { enrollment: created.id } } });
      expect(shown.data?.result.id).toBe(created.id);
      expect(JSON.stringify(listed.data)).not.toContain(created.token);
      expect(JSON.stringify(shown.data)).not.toContain(created.token);

      const stored = db
        .prepare<[string], { secret_hash: string }>(
          "SELECT secret_hash FROM enrollments WHERE id = ?",
        )
        .get(created.id);
      expect(stored?.secret_hash).toBe(createHash("sha256").update(created.token).digest("hex"));
      expect(dumpTables(db, ["enrollments", "audit_entries"])).not.toContain(created.token);
      expect(t.logs.join("\n")).not.toContain(created.token);
    });

    it("defaults the TTL to an hour and takes an empty body", async () => {
      const { data, response } = await t.client().POST("/v1/enrollments", {});
      expect(response.status).toBe(201);
      const created = data?.result;
      expect(Date.parse(created?.expires_at ?? "") - Date.parse(created?.created_at ?? "")).toBe(
        3_600_000,
      );
      expect(created?.agent_name).toBeNull();
    });

    it("refuses a TTL outside the spec's bounds", async () => {
      const { response, error } = await t
        .client()
        .POST("/v1/enrollments", { body: { ttl_seconds: 10 } });
      expect(response.status).toBe(400);
      expect(error?.error.code).toBe("request.invalid");
    });
  });

  describe("enrollAgent (the agent API's service function)", () => {
    it("spends the enrollment once and creates the agent in the same transaction", async () => {
      const enrollment = await createEnrollment(t, { agent_name: "orders-db-1" });
      const key = p256();
      const { agent, keyThumbprint } = enrollAgent(stores, {
        enrollmentSecret: enrollment.token,
        publicKey: key.pem,
        name: "ignored-when-the-enrollment-names-one",
        hostname: "orders-db-1.internal",
        version: "stowage-agent 1.0.0",
      });
      expect(agent).toMatchObject({
        name: "orders-db-1",
        hostname: "orders-db-1.internal",
        version: "stowage-agent 1.0.0",
        enrollment_id: enrollment.id,
        public_key_fingerprint: spkiFingerprint(key.publicKey),
      });
      expect(keyThumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(keyThumbprint).toBe(
        createHash("sha256")
          .update(
            JSON.stringify(
              (({ crv, kty, x, y }) => ({ crv, kty, x, y }))(
                key.publicKey.export({ format: "jwk" }),
              ),
            ),
          )
          .digest("base64url"),
      );

      const used = await t
        .client()
        .GET("/v1/enrollments/{enrollment}", { params: { path: { enrollment: enrollment.id } } });
      expect(used.data?.result).toMatchObject({ state: "used", agent_id: agent.id });
      expect(used.data?.result.used_at).not.toBeNull();

      const shown = await t
        .client()
        .GET("/v1/agents/{agent}", { params: { path: { agent: agent.id } } });
      expect(shown.data?.result).toMatchObject({
        id: agent.id,
        name: "orders-db-1",
        state: "active",
        auth_method: "none",
        public_key_fingerprint: spkiFingerprint(key.publicKey),
        identity_issued_at: null,
        enrollment_id: enrollment.id,
        last_seen_at: null,
        in_flight_jobs: 0,
        revoked_at: null,
      });

      // One-time: the same secret again, even with another key, is a 401.
      expect(
        refusal(() =>
          enrollAgent(stores, { enrollmentSecret: enrollment.token, publicKey: p256().pem }),
        ),
      ).toEqual({ status: 401, code: "auth.invalid_token" });

      const audit = await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } });
      const entry = audit.data?.result.items.find(
        (item) => item.action === "agents.enroll" && item.subject.agent === agent.id,
      );
      expect(entry?.actor).toEqual({ type: "agent", id: agent.id, name: "orders-db-1" });
      expect(JSON.stringify(audit.data)).not.toContain(enrollment.token);
    });

    it("takes a JWK, names the agent after its hostname by default, and looks it up by key", async () => {
      const enrollment = await createEnrollment(t);
      const key = p256();
      const { agent } = enrollAgent(stores, {
        enrollmentSecret: enrollment.token,
        publicKey: key.publicKey.export({ format: "jwk" }),
        hostname: "jwk-host",
      });
      expect(agent.name).toBe("jwk-host");
      expect(agentByPublicKeyFingerprint(stores, spkiFingerprint(key.publicKey))?.id).toBe(
        agent.id,
      );
      expect(
        agentByPublicKeyFingerprint(stores, spkiFingerprint(p256().publicKey)),
      ).toBeUndefined();
      expect(isAgentActive(stores, agent.id)).toBe(true);
      expect(isAgentActive(stores, "agt_unknown")).toBe(false);
    });

    it("refuses unknown secrets and keys that are not P-256 public keys, without spending the token", async () => {
      expect(
        refusal(() =>
          enrollAgent(stores, { enrollmentSecret: "enr_tok_guess", publicKey: p256().pem }),
        ),
      ).toEqual({ status: 401, code: "auth.invalid_token" });

      const enrollment = await createEnrollment(t);
      const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey;
      const ed = generateKeyPairSync("ed25519").publicKey;
      const refused = [
        ec.privateKey.export({ format: "jwk" }), // carries d
        ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), // a private PEM
        p384.export({ type: "spki", format: "pem" }).toString(),
        p384.export({ format: "jwk" }),
        ed.export({ type: "spki", format: "pem" }).toString(),
        "not a key",
      ];
      for (const publicKey of refused) {
        expect(
          refusal(() => enrollAgent(stores, { enrollmentSecret: enrollment.token, publicKey })),
        ).toEqual({ status: 400, code: "request.invalid" });
      }
      // A key already enrolled is 409, and the token survives that too.
      const taken = await enrolledAgent();
      expect(
        refusal(() =>
          enrollAgent(stores, { enrollmentSecret: enrollment.token, publicKey: taken.key.pem }),
        ),
      ).toEqual({ status: 409, code: "resource.conflict" });
      const still = await t
        .client()
        .GET("/v1/enrollments/{enrollment}", { params: { path: { enrollment: enrollment.id } } });
      expect(still.data?.result.state).toBe("pending");
      expect(
        enrollAgent(stores, { enrollmentSecret: enrollment.token, publicKey: p256().pem }).agent.id,
      ).toMatch(/^agt_/);
    });

    it("refuses an expired enrollment, which the API shows as expired", async () => {
      const enrollment = await createEnrollment(t, { ttl_seconds: 60 });
      const later = new Date(Date.parse(enrollment.expires_at) + 1000);
      expect(
        refusal(() =>
          enrollAgent(stores, { enrollmentSecret: enrollment.token, publicKey: p256().pem }, later),
        ),
      ).toEqual({ status: 401, code: "auth.invalid_token" });

      db.prepare("UPDATE enrollments SET expires_at = ? WHERE id = ?").run(
        new Date(Date.now() - 1000).toISOString(),
        enrollment.id,
      );
      const shown = await t
        .client()
        .GET("/v1/enrollments/{enrollment}", { params: { path: { enrollment: enrollment.id } } });
      expect(shown.data?.result.state).toBe("expired");
      expect(
        refusal(() =>
          enrollAgent(stores, { enrollmentSecret: enrollment.token, publicKey: p256().pem }),
        ),
      ).toEqual({ status: 401, code: "auth.invalid_token" });
    });

    it("records when and how an agent was last seen", async () => {
      const { agent } = await enrolledAgent();
      recordAgentSeen(stores, agent, { authMethod: "jwt", version: "stowage-agent 0.2.0" });
      const shown = await t
        .client()
        .GET("/v1/agents/{agent}", { params: { path: { agent: agent.id } } });
      expect(shown.data?.result).toMatchObject({
        auth_method: "jwt",
        version: "stowage-agent 0.2.0",
      });
      expect(shown.data?.result.last_seen_at).not.toBeNull();
    });
  });

  describe("deleteEnrollment", () => {
    it("stops a pending token at once", async () => {
      const enrollment = await createEnrollment(t);
      const deleted = await t.client().DELETE("/v1/enrollments/{enrollment}", {
        params: { path: { enrollment: enrollment.id } },
      });
      expect(deleted.response.status).toBe(204);
      const gone = await t
        .client()
        .GET("/v1/enrollments/{enrollment}", { params: { path: { enrollment: enrollment.id } } });
      expect(gone.response.status).toBe(404);
      expect(
        refusal(() =>
          enrollAgent(stores, { enrollmentSecret: enrollment.token, publicKey: p256().pem }),
        ),
      ).toEqual({ status: 401, code: "auth.invalid_token" });
    });

    it("removes a used one's record and keeps its agent", async () => {
      const { agent, enrollment } = await enrolledAgent();
      const deleted = await t.client().DELETE("/v1/enrollments/{enrollment}", {
        params: { path: { enrollment: enrollment.id } },
      });
      expect(deleted.response.status).toBe(204);
      const shown = await t
        .client()
        .GET("/v1/agents/{agent}", { params: { path: { agent: agent.id } } });
      expect(shown.data?.result).toMatchObject({ state: "active", enrollment_id: enrollment.id });
      const audit = await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } });
      expect(
        audit.data?.result.items.some(
          (item) =>
            item.action === "enrollments.delete" && item.subject.enrollment === enrollment.id,
        ),
      ).toBe(true);
    });
  });

  describe("pagination", () => {
    it("lists enrollments newest first and agents by name, with markers and Link", async () => {
      const created: string[] = [];
      for (let i = 0; i < 3; i++) created.push((await createEnrollment(t)).id);
      const seen: string[] = [];
      let marker: string | undefined;
      do {
        const { data, response } = await t.client().GET("/v1/enrollments", {
          params: { query: { limit: 2, ...(marker ? { marker } : {}) } },
        });
        const items = data?.result.items ?? [];
        seen.push(...items.map((item) => item.id));
        marker = data?.result.next_marker ?? undefined;
        if (marker) expect(response.headers.get("link")).toContain('rel="next"');
      } while (marker);
      expect(seen).toEqual([...seen].sort().reverse());
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.slice(0, 3)).toEqual([...created].reverse());

      // Two agents with one name: the (name, id) key keeps both, in order.
      await enrolledAgent("zz-twin");
      await enrolledAgent("zz-twin");
      await enrolledAgent("aa-first");
      const names: string[] = [];
      const ids: string[] = [];
      marker = undefined;
      do {
        const query: { limit: number; marker?: string } = {
          limit: 2,
          ...(marker ? { marker } : {}),
        };
        const { data } = await t.client().GET("/v1/agents", { params: { query } });
        const items: { name: string; id: string }[] = data?.result.items ?? [];
        names.push(...items.map((item) => item.name));
        ids.push(...items.map((item) => item.id));
        const next: string | null | undefined = data?.result.next_marker;
        marker = next ?? undefined;
      } while (marker);
      expect(names).toEqual([...names].sort());
      expect(new Set(ids).size).toBe(ids.length);
      expect(names.filter((name) => name === "zz-twin")).toHaveLength(2);

      const forged = await t.client().GET("/v1/agents", {
        params: { query: { marker: Buffer.from('{"after":"x"}').toString("base64url") } },
      });
      expect(forged.response.status).toBe(400);
    });
  });

  describe("revokeAgent", () => {
    it("revokes at once, idempotently, with one audit entry", async () => {
      const { agent, key } = await enrolledAgent();
      const revoked = await t
        .client()
        .DELETE("/v1/agents/{agent}", { params: { path: { agent: agent.id } } });
      expect(revoked.response.status).toBe(200);
      expect(revoked.data?.result.state).toBe("revoked");
      const at = revoked.data?.result.revoked_at;
      expect(at).not.toBeNull();
      expect(isAgentActive(stores, agent.id)).toBe(false);
      expect(agentByPublicKeyFingerprint(stores, spkiFingerprint(key.publicKey))?.revoked_at).toBe(
        at,
      );

      const again = await t
        .client()
        .DELETE("/v1/agents/{agent}", { params: { path: { agent: agent.id } } });
      expect(again.data?.result).toMatchObject({ state: "revoked", revoked_at: at });
      const audit = await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } });
      expect(
        audit.data?.result.items.filter(
          (item) => item.action === "agents.revoke" && item.subject.agent === agent.id,
        ),
      ).toHaveLength(1);
    });
  });

  describe("issueAgentIdentity without a TLS certificate", () => {
    it("answers 412 with a suggestion and issues nothing", async () => {
      const { agent } = await enrolledAgent();
      const { response, error } = await t.client().POST("/v1/agents/{agent}/identity", {
        params: { path: { agent: agent.id } },
        body: {},
      });
      expect(response.status).toBe(412);
      expect(error?.error.code).toBe("precondition.failed");
      expect(error?.error.suggestion?.human).toMatch(/--tls-cert/);
      expect(stores.agents.byIdInAnyTenant(agent.id)?.identity_fingerprint).toBeNull();
    });
  });

  describe("access", () => {
    it("is 404 across tenants and leaves other tenants' lists alone", async () => {
      const { agent, enrollment } = await enrolledAgent();
      const pending = await createEnrollment(t);
      const tenant = await t.client().POST("/v1/tenants", { body: { name: "other-tenant" } });
      const tenantId = tenant.data?.result.id ?? "";
      const other = await createToken(t, ["agent:manage"], { tenantId, name: "other-manager" });
      const client = t.client(other);

      const answers = [
        await client.GET("/v1/enrollments/{enrollment}", {
          params: { path: { enrollment: pending.id } },
        }),
        await client.DELETE("/v1/enrollments/{enrollment}", {
          params: { path: { enrollment: pending.id } },
        }),
        await client.GET("/v1/agents/{agent}", { params: { path: { agent: agent.id } } }),
        await client.DELETE("/v1/agents/{agent}", { params: { path: { agent: agent.id } } }),
        await client.POST("/v1/agents/{agent}/identity", {
          params: { path: { agent: agent.id } },
          body: {},
        }),
      ];
      expect(answers.map((answer) => answer.response.status)).toEqual([404, 404, 404, 404, 404]);
      expect(answers.map((answer) => answer.error?.error.code)).toEqual(
        Array(5).fill("resource.not_found"),
      );
      expect(isAgentActive(stores, agent.id)).toBe(true);
      const stillPending = await t
        .client()
        .GET("/v1/enrollments/{enrollment}", { params: { path: { enrollment: pending.id } } });
      expect(stillPending.data?.result.state).toBe("pending");

      const theirEnrollments = await client.GET("/v1/enrollments");
      const theirAgents = await client.GET("/v1/agents");
      expect(theirEnrollments.data?.result.items).toEqual([]);
      expect(theirAgents.data?.result.items).toEqual([]);

      // Their own enrollment enrolls an agent of their tenant only.
      const theirs = await createEnrollment(t, {}, other);
      const enrolled = enrollAgent(stores, {
        enrollmentSecret: theirs.token,
        publicKey: p256().pem,
      });
      expect(enrolled.agent.tenant_id).toBe(tenantId);
      const mine = await t.client().GET("/v1/agents/{agent}", {
        params: { path: { agent: enrolled.agent.id } },
      });
      expect(mine.response.status).toBe(404);
      expect(enrollment.tenant_id).not.toBe(tenantId);
    });

    it("is 403 without agent:manage", async () => {
      const { agent } = await enrolledAgent();
      const pending = await createEnrollment(t);
      const client = t.client(await createToken(t, ["backup:read", "deployment:write"]));
      const answers = [
        await client.GET("/v1/enrollments"),
        await client.POST("/v1/enrollments", { body: {} }),
        await client.GET("/v1/enrollments/{enrollment}", {
          params: { path: { enrollment: pending.id } },
        }),
        await client.DELETE("/v1/enrollments/{enrollment}", {
          params: { path: { enrollment: pending.id } },
        }),
        await client.GET("/v1/agents"),
        await client.GET("/v1/agents/{agent}", { params: { path: { agent: agent.id } } }),
        await client.DELETE("/v1/agents/{agent}", { params: { path: { agent: agent.id } } }),
        await client.POST("/v1/agents/{agent}/identity", {
          params: { path: { agent: agent.id } },
          body: {},
        }),
      ];
      expect(answers.map((answer) => answer.response.status)).toEqual(Array(8).fill(403));
      expect(answers.map((answer) => answer.error?.error.code)).toEqual(
        Array(8).fill("authz.denied"),
      );
      // And a token with only agent:manage may do it all.
      const manager = t.client(await createToken(t, ["agent:manage"], { name: "manager" }));
      expect((await manager.GET("/v1/agents")).response.status).toBe(200);
      expect((await manager.POST("/v1/enrollments", { body: {} })).response.status).toBe(201);
    });
  });
});

/** The Ed25519 key a seed stands for, derived here independently of the controller's code. */
function keyFromSeed(seed: Buffer): { privateKey: KeyObject; publicKey: KeyObject } {
  const prefix = Buffer.from("302e020100300506032b657004220420", "hex");
  const privateKey = createPrivateKey({
    key: Buffer.concat([prefix, seed]),
    format: "der",
    type: "pkcs8",
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

describe("issueAgentIdentity over HTTPS", () => {
  let t: TestController;
  let stores: Stores;
  let db: Db;
  let tlsDir: string;
  let certPem: string;
  let dispatcher: UndiciAgent;

  beforeAll(async () => {
    tlsDir = mkdtempSync(path.join(tmpdir(), "stowage-tls-"));
    const cert = path.join(tlsDir, "cert.pem");
    const key = path.join(tlsDir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "pipe" },
    );
    certPem = readFileSync(cert, "utf8");
    t = await startTestController({ tlsCert: cert, tlsKey: key });
    ({ stores, db } = openStores(t));
    dispatcher = new UndiciAgent({ connect: { ca: certPem } });
  });
  afterAll(async () => {
    db.close();
    await t.stop();
    await dispatcher.close();
    rmSync(tlsDir, { recursive: true, force: true });
  });

  const client = (token = t.adminToken) =>
    createControlClient({
      baseUrl: t.url,
      auth: { getToken: () => token },
      retry: false,
      dispatcher,
    });

  async function enrolled(agentName: string) {
    const { data } = await client().POST("/v1/enrollments", { body: { agent_name: agentName } });
    if (!data) throw new Error("no enrollment");
    expect(data.result.enroll_url).toBe(`${t.url}/engines/enroll`);
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    return enrollAgent(stores, { enrollmentSecret: data.result.token, publicKey: p256().pem })
      .agent;
  }

  it("answers the kind: remote bootstrap document once, pinning the served certificate", async () => {
    const agent = await enrolled("mysql-1");
    const { data, response } = await client().POST("/v1/agents/{agent}/identity", {
      params: { path: { agent: agent.id } },
      body: {},
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const identity = data?.result;
    if (!identity) throw new Error("no identity");
    const doc = identity.bootstrap;
    expect(doc).toMatchObject({
      version: "config.databack.io/v1",
      kind: "remote",
      metadata: { name: "bootstrap-mysql-1" },
    });
    expect(doc.spec.url).toBe(`${t.url}/engines/config/${agent.id}`);
    const pinned = new X509Certificate(certPem).fingerprint256.replace(/:/g, "").toLowerCase();
    expect(doc.spec.certificates).toEqual([`sha256:${pinned}`]);

    // The seed derives a working Ed25519 key whose public half is what the controller reports.
    const seed = Buffer.from(doc.spec.credentials, "base64");
    expect(seed).toHaveLength(32);
    const { privateKey, publicKey } = keyFromSeed(seed);
    const message = Buffer.from("mysql-backup says hello");
    expect(verify(null, message, publicKey, sign(null, message, privateKey))).toBe(true);
    const rawPublic = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
    expect(identity.public_key).toBe(rawPublic.toString("base64"));
    expect(identity.fingerprint).toBe(spkiFingerprint(publicKey));
    expect(identity.replaced).toBe(false);
    expect(agentByPublicKeyFingerprint(stores, spkiFingerprint(publicKey))?.id).toBe(agent.id);
    const shown = await client().GET("/v1/agents/{agent}", {
      params: { path: { agent: agent.id } },
    });
    expect(shown.data?.result.identity_issued_at).toBe(identity.issued_at);
    const listed = await client().GET("/v1/agents");
    expect(listed.data?.result.items.find((item) => item.id === agent.id)?.identity_issued_at).toBe(
      identity.issued_at,
    );

    // What mysql-backup reads: valid for stowage's agent client and the databacker reference.
    expect(ConfigV1Schema.safeParse(doc).success).toBe(true);
    if (sharedAvailable("the databacker reference schema check")) {
      const reference = parse(
        readFileSync(path.join(sharedDir, "reference", "databacker-api", "schemas.yaml"), "utf8"),
      ) as object;
      const id = "https://stowage.invalid/reference/databacker-api/schemas.yaml";
      // The reference declares `discriminator` without `oneOf`, which Ajv cannot honour.
      const ajv = new Ajv({ strict: false, discriminator: false, allErrors: true });
      ajv.addSchema(reference, id);
      const validate = ajv.compile({ $ref: `${id}#/components/schemas/Config` });
      expect({ valid: validate(doc), errors: validate.errors ?? null }).toEqual({
        valid: true,
        errors: null,
      });
    }

    // The seed is in the clear in this answer only (and in its own agent's config, which the
    // conformance test checks): never logged, audited or answered again, and sealed at rest.
    const credentials = doc.spec.credentials;
    const seedHex = seed.toString("hex");
    const audit = await client().GET("/v1/audit", { params: { query: { limit: 1000 } } });
    const entry = audit.data?.result.items.find(
      (item) => item.action === "agents.issue_identity" && item.subject.agent === agent.id,
    );
    expect(entry?.details).toEqual({ fingerprint: identity.fingerprint, replaced: false });
    const everything = [
      JSON.stringify(audit.data),
      JSON.stringify(shown.data),
      JSON.stringify(listed.data),
      t.logs.join("\n"),
      dumpTables(db, ["agents", "enrollments", "audit_entries"]),
    ].join("\n");
    expect(everything).not.toContain(credentials);
    expect(everything).not.toContain(seedHex);
    expect(everything).not.toContain(seed.toString("base64url"));
    const sealed = db
      .prepare<[string], Buffer>("SELECT sealed FROM agent_identity_seeds WHERE agent_id = ?")
      .pluck()
      .get(agent.id);
    expect(sealed?.length).toBeGreaterThan(seed.length);
    expect(sealed?.includes(seed)).toBe(false);
  });

  it("is 409 when an identity exists, and replaces it (old key gone) with replace: true", async () => {
    const agent = await enrolled("mysql-2");
    const first = await client().POST("/v1/agents/{agent}/identity", {
      params: { path: { agent: agent.id } },
    });
    expect(first.response.status).toBe(201);
    const again = await client().POST("/v1/agents/{agent}/identity", {
      params: { path: { agent: agent.id } },
      body: { replace: false },
    });
    expect(again.response.status).toBe(409);
    expect(again.error?.error.code).toBe("resource.conflict");

    const replaced = await client().POST("/v1/agents/{agent}/identity", {
      params: { path: { agent: agent.id } },
      body: { replace: true, config_url: "https://proxy.example:8443/engines/config/mysql-2" },
    });
    expect(replaced.response.status).toBe(201);
    expect(replaced.data?.result.replaced).toBe(true);
    expect(replaced.data?.result.bootstrap.spec.url).toBe(
      "https://proxy.example:8443/engines/config/mysql-2",
    );
    const oldFingerprint = first.data?.result.fingerprint ?? "";
    expect(replaced.data?.result.fingerprint).not.toBe(oldFingerprint);
    expect(agentByPublicKeyFingerprint(stores, oldFingerprint)).toBeUndefined();
    expect(agentByPublicKeyFingerprint(stores, replaced.data?.result.fingerprint ?? "")?.id).toBe(
      agent.id,
    );
  });

  it("is 409 for a revoked agent", async () => {
    const agent = await enrolled("mysql-3");
    await client().DELETE("/v1/agents/{agent}", { params: { path: { agent: agent.id } } });
    const { response, error } = await client().POST("/v1/agents/{agent}/identity", {
      params: { path: { agent: agent.id } },
      body: {},
    });
    expect(response.status).toBe(409);
    expect(error?.error.code).toBe("resource.conflict");
  });
});
