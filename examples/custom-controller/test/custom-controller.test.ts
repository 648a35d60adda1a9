import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAgentClient, type AgentClient } from "@stowage/agent-client";
import { sampleConfig } from "../src/sample-config";
import { createApp } from "../src/server";
import { AgentStore, type ConfigTemplate } from "../src/store";
import { jwkThumbprint, mintAgentToken, publicJwk } from "../src/token";

const V1 = "application/vnd.stowage.agent-config.v1+json";
const V2 = "application/vnd.stowage.agent-config.v2+json";
/** The spec's pattern for a strong entity tag. */
const STRONG_ETAG = /^"[\x21\x23-\x7E]+"$/;

/** Stored without a v1 form, as a controller does when the deployments say more than v1 can. */
const v2Only: ConfigTemplate = {
  v2: { ...sampleConfig.v2, metadata: { name: "app-state" } },
};

interface Agent {
  instance: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Signs a fresh token for every call, as a real agent would. */
  client: AgentClient;
}

const store = new AgentStore();
let server: Server;
let baseUrl: string;
let alpha: Agent;
let beta: Agent;

beforeAll(async () => {
  for (const token of ["enr_alpha", "enr_gamma", "enr_delta", "enr_epsilon"]) {
    store.addEnrollmentToken(token, sampleConfig);
  }
  store.addEnrollmentToken("enr_beta", v2Only);
  const { app, ready } = createApp({ store, validateResponses: true });
  await ready();
  server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  alpha = await enroll("enr_alpha");
  beta = await enroll("enr_beta", "pem");
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
});

const anonymous = () => createAgentClient({ baseUrl, retry: false });

async function enroll(token: string, form: "jwk" | "pem" = "jwk"): Promise<Agent> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const public_key =
    form === "jwk"
      ? publicJwk(publicKey)
      : publicKey.export({ type: "spki", format: "pem" }).toString();
  const { data, response } = await anonymous().POST("/engines/enroll", {
    body: { enrollment_token: token, public_key, hostname: "db-backup-01" },
  });
  if (response.status !== 201 || !data) throw new Error(`enrollment failed: ${response.status}`);
  const instance = data.instance;
  const client = createAgentClient({
    baseUrl,
    retry: false,
    auth: { getToken: () => mintAgentToken(privateKey, instance) },
  });
  return { instance, privateKey, publicKey, client };
}

const path = (instance: string) => ({ path: { instance } });

describe("enrollAgent", () => {
  it("trades a one-time token and a P-256 key for a new instance id", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const before = Date.now();
    const { data, response } = await anonymous().POST("/engines/enroll", {
      body: { enrollment_token: "enr_gamma", public_key: publicJwk(publicKey) },
    });
    expect(response.status).toBe(201);
    expect(data?.instance).toMatch(/^inst-[0-9a-f]{16}$/);
    expect(new Set([data?.instance, alpha.instance, beta.instance]).size).toBe(3);
    expect(data?.key_thumbprint).toBe(jwkThumbprint(privateKey));
    expect(Date.parse(data?.enrolled_at ?? "")).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000,
    );
    expect(data?.endpoints).toMatchObject({
      orchestration: `${baseUrl}/engines`,
      token: `${baseUrl}/engines/oauth/token`,
    });
  });

  it("accepts the key as PEM too, with the same thumbprint as its JWK", () => {
    expect(store.agent(beta.instance)?.thumbprint).toBe(jwkThumbprint(beta.publicKey));
  });

  it("refuses a spent token and an unknown one alike: 401 auth.invalid_token", async () => {
    for (const token of ["enr_alpha", "enr_never_issued"]) {
      const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const { error, response } = await anonymous().POST("/engines/enroll", {
        body: { enrollment_token: token, public_key: publicJwk(publicKey) },
      });
      expect(response.status).toBe(401);
      expect(error?.error.code).toBe("auth.invalid_token");
      expect(error?.error.request_id).toBe(response.headers.get("x-request-id"));
    }
  });

  it("refuses a JWK carrying the private `d` with 400, and leaves the token unspent", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const leaked = { ...publicJwk(publicKey), d: privateKey.export({ format: "jwk" }).d };
    const refused = await anonymous().POST("/engines/enroll", {
      body: { enrollment_token: "enr_delta", public_key: leaked },
    });
    expect(refused.response.status).toBe(400);
    expect(refused.error?.error.details).toEqual([
      expect.objectContaining({ path: "/body/public_key" }),
    ]);
    const retried = await anonymous().POST("/engines/enroll", {
      body: { enrollment_token: "enr_delta", public_key: publicJwk(publicKey) },
    });
    expect(retried.response.status).toBe(201);
  });

  it("refuses a key that is already enrolled with 409", async () => {
    const { error, response } = await anonymous().POST("/engines/enroll", {
      body: { enrollment_token: "enr_epsilon", public_key: publicJwk(alpha.publicKey) },
    });
    expect(response.status).toBe(409);
    expect(error?.error.code).toBe("resource.conflict");
  });
});

describe("getConfig", () => {
  it("serves v1 to a request without Accept, with a strong ETag, no-store and Vary", async () => {
    const { data, response } = await alpha.client.GET("/engines/config/{instance}", {
      params: path(alpha.instance),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain(V1);
    expect(data).toEqual(sampleConfig.v1);
    expect(response.headers.get("etag")).toMatch(STRONG_ETAG);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("vary")).toMatch(/\bAccept\b/i);
  });

  it("serves v2 when asked, filled in for this instance, under a tag of its own", async () => {
    const v1 = await alpha.client.GET("/engines/config/{instance}", {
      params: path(alpha.instance),
    });
    const { data, response } = await alpha.client.requestAs(
      "get",
      "/engines/config/{instance}",
      V2,
      { params: path(alpha.instance) },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain(V2);
    expect(data?.version).toBe("config.stowage.io/v2");
    expect(data?.instance).toBe(alpha.instance);
    expect(data?.deployments).toEqual(sampleConfig.v2.deployments);
    expect(response.headers.get("etag")).toMatch(STRONG_ETAG);
    expect(response.headers.get("etag")).not.toBe(v1.response.headers.get("etag"));
  });

  it("answers 304 without a body while If-None-Match holds the tag of what Accept selects", async () => {
    const first = await alpha.client.GET("/engines/config/{instance}", {
      params: path(alpha.instance),
    });
    const etag = first.response.headers.get("etag") ?? "";
    const again = await fetch(`${baseUrl}/engines/config/${alpha.instance}`, {
      headers: {
        authorization: `Bearer ${mintAgentToken(alpha.privateKey, alpha.instance)}`,
        "if-none-match": `"some-older-tag", ${etag}`,
      },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("cache-control")).toBe("no-store");

    // The same tag does not match the v2 representation: that one is sent in full.
    const v2 = await alpha.client.requestAs("get", "/engines/config/{instance}", V2, {
      params: { ...path(alpha.instance), header: { "If-None-Match": etag } },
    });
    expect(v2.response.status).toBe(200);
  });

  it("answers 200 with a new tag once the config changed", async () => {
    const fetchV2 = (ifNoneMatch?: string) =>
      alpha.client.requestAs("get", "/engines/config/{instance}", V2, {
        params: { ...path(alpha.instance), header: { "If-None-Match": ifNoneMatch } },
      });
    const etag = (await fetchV2()).response.headers.get("etag") ?? "";
    expect((await fetchV2(etag)).response.status).toBe(304);

    store.setConfig(alpha.instance, {
      ...sampleConfig,
      v2: { ...sampleConfig.v2, metadata: { name: "orders-db", description: "Hourly now" } },
    });
    const { data, response } = await fetchV2(etag);
    expect(response.status).toBe(200);
    expect(data?.metadata?.description).toBe("Hourly now");
    expect(response.headers.get("etag")).toMatch(STRONG_ETAG);
    expect(response.headers.get("etag")).not.toBe(etag);
  });

  it("answers 404 for another agent's config, exactly as for an instance that does not exist", async () => {
    const theirs = await alpha.client.GET("/engines/config/{instance}", {
      params: path(beta.instance),
    });
    const nobody = await alpha.client.GET("/engines/config/{instance}", {
      params: path("inst-nobody"),
    });
    expect(theirs.response.status).toBe(404);
    expect(nobody.response.status).toBe(404);
    expect(theirs.error?.error.code).toBe("resource.not_found");
    expect(theirs.error?.error.message.replace(beta.instance, "X")).toBe(
      nobody.error?.error.message.replace("inst-nobody", "X"),
    );
    // And the owner does get it.
    const own = await beta.client.requestAs("get", "/engines/config/{instance}", V2, {
      params: path(beta.instance),
    });
    expect(own.response.status).toBe(200);
    expect(own.data?.instance).toBe(beta.instance);
  });

  it("answers 406 with a pointer to v2 when the config cannot be said in v1", async () => {
    const { error, response } = await beta.client.GET("/engines/config/{instance}", {
      params: path(beta.instance),
    });
    expect(response.status).toBe(406);
    expect(error?.error.code).toBe("request.not_acceptable");
    expect(error?.error.suggestion?.human).toContain(V2);
  });

  it("answers 401 auth.required without credentials", async () => {
    const { error, response } = await anonymous().GET("/engines/config/{instance}", {
      params: path(alpha.instance),
    });
    expect(response.status).toBe(401);
    expect(error?.error.code).toBe("auth.required");
  });

  it("answers 401 auth.invalid_token for a forged, tampered, expired or too long-lived token", async () => {
    const stranger = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const [header, claims] = mintAgentToken(alpha.privateKey, alpha.instance).split(".");
    const signedBy = (key: KeyObject, input: string) =>
      sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");
    const laterClaims = Buffer.from(
      JSON.stringify({ ...decodeClaims(claims), exp: Math.floor(Date.now() / 1000) + 299 }),
    ).toString("base64url");
    const tokens = {
      // Names alpha's key (`kid`) but is signed by another one.
      forged: `${header}.${claims}.${signedBy(stranger, `${header}.${claims}`)}`,
      // Alpha's own signature over different claims.
      tampered: `${header}.${laterClaims}.${signedBy(alpha.privateKey, `${header}.${claims}`)}`,
      wrongKey: mintAgentToken(stranger, alpha.instance),
      expired: mintAgentToken(alpha.privateKey, alpha.instance, { now: Date.now() - 10 * 60_000 }),
      tooLong: mintAgentToken(alpha.privateKey, alpha.instance, { lifetimeSeconds: 3600 }),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const client = createAgentClient({ baseUrl, retry: false, auth: { getToken: () => token } });
      const { error, response } = await client.GET("/engines/config/{instance}", {
        params: path(alpha.instance),
      });
      expect({ name, status: response.status, code: error?.error.code }).toEqual({
        name,
        status: 401,
        code: "auth.invalid_token",
      });
    }
  });
});

function decodeClaims(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("operations this controller does not implement", () => {
  it("answers 410 resource.gone", async () => {
    const { error, response } = await anonymous().GET("/engines");
    expect(response.status).toBe(410);
    expect(error?.error.code).toBe("resource.gone");
  });

  it("still authenticates first, then answers 410 before looking at the body", async () => {
    // `kinds` must not be empty: with a handler this body would be a 400.
    const url = `${baseUrl}/engines/jobs/${alpha.instance}/claim`;
    const json = { "content-type": "application/json" };
    const unauthenticated = await fetch(url, {
      method: "POST",
      headers: json,
      body: '{"kinds":[]}',
    });
    expect(unauthenticated.status).toBe(401);
    const authenticated = await fetch(url, {
      method: "POST",
      headers: {
        ...json,
        authorization: `Bearer ${mintAgentToken(alpha.privateKey, alpha.instance)}`,
      },
      body: '{"kinds":[]}',
    });
    expect(authenticated.status).toBe(410);
  });
});
