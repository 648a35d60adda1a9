/**
 * Agent identity over the real agent API: enrollment, the token endpoint's client assertions
 * (every attack the spec lists is a 401 with the envelope), access tokens checked on every
 * request (revocation is immediate), key rotation that keeps live tokens valid, the token
 * endpoint's rate limit, and another agent's paths answering 404.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { signClientAssertion } from "@stowage/agent-client";
import { SigningKeyRing } from "../src/services/signing-keys";
import { anonymousAgentClient, enrollTestAgent, type TestAgent } from "./agent-fixture";
import { runControllerCli } from "./controller-process";
import { must } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
let agent: TestAgent;

beforeAll(async () => {
  t = await startTestController({ tokenRequestsPerMinute: 6000 });
  agent = await enrollTestAgent(t);
});
afterAll(() => t.stop());

function tokenForm(assertion: string, clientId?: string) {
  return {
    body: {
      grant_type: "client_credentials" as const,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" as const,
      client_assertion: assertion,
      ...(clientId ? { client_id: clientId } : {}),
    },
    bodySerializer: (body: Record<string, string>) => new URLSearchParams(body).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  };
}

function exchange(assertion: string, clientId?: string) {
  return anonymousAgentClient(t).POST("/engines/oauth/token", tokenForm(assertion, clientId));
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A JWS with any header and claims, signed ES256 by `key` (or unsigned for `alg: none`). */
function forge(header: object, claims: object, key?: KeyObject): string {
  const input = `${b64(header)}.${b64(claims)}`;
  if (!key) return `${input}.`;
  return `${input}.${sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
}

function claimsFor(who: TestAgent, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: who.instance,
    sub: who.instance,
    aud: who.endpoints.token,
    iat: now,
    exp: now + 120,
    jti: randomUUID(),
    ...overrides,
  };
}

function expectInvalid(result: { response: Response; error?: unknown }) {
  expect(result.response.status).toBe(401);
  expect(result.error).toMatchObject({
    schema: "stowage.v1",
    error: { code: "auth.invalid_token", request_id: expect.any(String) },
  });
}

describe("enrollment", () => {
  it("answers the instance, the key thumbprint and the endpoint map, and spends the token", async () => {
    const enrollment = must(await t.client().POST("/v1/enrollments", { body: {} }));
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const body = {
      enrollment_token: enrollment.token,
      public_key: { kty: "EC" as const, crv: "P-256" as const, x: jwk.x ?? "", y: jwk.y ?? "" },
    };
    const first = await anonymousAgentClient(t).POST("/engines/enroll", { body });
    expect(first.response.status).toBe(201);
    expect(first.data?.instance).toMatch(/^agt_/);
    expect(first.data?.endpoints.token).toBe(`${t.url}/engines/oauth/token`);
    const again = await anonymousAgentClient(t).POST("/engines/enroll", { body });
    expect(again.response.status).toBe(401);
    const listed = must(await t.client().GET("/v1/agents", { params: { query: { limit: 1000 } } }));
    expect(listed.items.map((item) => item.id)).toContain(first.data?.instance);
  });

  it("refuses a key that is not P-256 (400) without spending the token", async () => {
    const enrollment = must(await t.client().POST("/v1/enrollments", { body: {} }));
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    const refused = await anonymousAgentClient(t).POST("/engines/enroll", {
      body: {
        enrollment_token: enrollment.token,
        public_key: rsa.export({ type: "spki", format: "pem" }).toString(),
      },
    });
    expect(refused.response.status).toBe(400);
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const accepted = await anonymousAgentClient(t).POST("/engines/enroll", {
      body: {
        enrollment_token: enrollment.token,
        public_key: publicKey.export({ type: "spki", format: "pem" }).toString(),
      },
    });
    expect(accepted.response.status).toBe(201);
  });
});

describe("discovery and keys", () => {
  it("publishes the endpoint map and the ES256 signing keys", async () => {
    const discovery = await anonymousAgentClient(t).GET("/engines");
    expect(discovery.data).toMatchObject({
      endpoints: {
        orchestration: `${t.url}/engines`,
        reporting: `${t.url}/engines`,
        token: `${t.url}/engines/oauth/token`,
        jwks: `${t.url}/engines/jwks.json`,
      },
      authentication: {
        methods: ["client_assertion"],
        assertion_signing_alg_values: ["ES256"],
        assertion_max_lifetime_seconds: 300,
        access_token_lifetime_seconds: 900,
      },
    });
    const jwks = await anonymousAgentClient(t).GET("/engines/jwks.json");
    expect(jwks.response.headers.get("cache-control")).toBe("public, max-age=300");
    expect(jwks.data?.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.data?.keys ?? [])
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
  });
});

describe("the token endpoint", () => {
  it("trades a valid assertion for an ES256 access token that authenticates the agent", async () => {
    const minted = await exchange(signClientAssertion(agent, agent.endpoints.token));
    expect(minted.response.status).toBe(200);
    expect(minted.response.headers.get("cache-control")).toBe("no-store");
    expect(minted.response.headers.get("pragma")).toBe("no-cache");
    const token = minted.data?.access_token ?? "";
    const header = jwt.decode(token, { complete: true })?.header;
    expect(header?.alg).toBe("ES256");
    const jwks = await anonymousAgentClient(t).GET("/engines/jwks.json");
    expect(jwks.data?.keys.map((key) => key.kid)).toContain(header?.kid);
    expect(jwt.decode(token, { json: true })).toMatchObject({
      sub: agent.instance,
      iss: t.url,
      aud: `${t.url}/engines`,
    });
    expect(minted.data?.expires_in).toBe(900);
    const claim = await agent.client.POST("/engines/jobs/{instance}/claim", {
      params: { path: { instance: agent.instance }, query: { wait: 0 } },
    });
    expect(claim.response.status).toBe(204);
  });

  const attacks: [string, () => string][] = [
    ["alg none", () => forge({ alg: "none", typ: "JWT" }, claimsFor(agent))],
    [
      "HS256 signed with the enrolled public key",
      () =>
        jwt.sign(
          claimsFor(agent),
          agent.publicKey.export({ type: "spki", format: "pem" }).toString(),
          { algorithm: "HS256" },
        ),
    ],
    [
      "expired",
      () => {
        const past = Math.floor(Date.now() / 1000) - 600;
        return forge(
          { alg: "ES256" },
          claimsFor(agent, { iat: past, exp: past + 60 }),
          agent.privateKey,
        );
      },
    ],
    [
      "not yet valid",
      () =>
        forge(
          { alg: "ES256" },
          claimsFor(agent, { nbf: Math.floor(Date.now() / 1000) + 3600 }),
          agent.privateKey,
        ),
    ],
    [
      "lifetime over five minutes",
      () => {
        const now = Math.floor(Date.now() / 1000);
        return forge(
          { alg: "ES256" },
          claimsFor(agent, { iat: now, exp: now + 3600 }),
          agent.privateKey,
        );
      },
    ],
    [
      "no exp",
      () => forge({ alg: "ES256" }, claimsFor(agent, { exp: undefined }), agent.privateKey),
    ],
    [
      "wrong aud",
      () =>
        forge(
          { alg: "ES256" },
          claimsFor(agent, { aud: "https://elsewhere.example/engines/oauth/token" }),
          agent.privateKey,
        ),
    ],
    [
      "unknown iss",
      () =>
        forge(
          { alg: "ES256" },
          claimsFor(agent, { iss: "agt_unknown", sub: "agt_unknown" }),
          agent.privateKey,
        ),
    ],
    [
      "iss differs from sub",
      () => forge({ alg: "ES256" }, claimsFor(agent, { sub: "someone-else" }), agent.privateKey),
    ],
    [
      "signed by another key",
      () =>
        forge(
          { alg: "ES256" },
          claimsFor(agent),
          generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
        ),
    ],
    [
      "tampered signature",
      () => {
        const valid = signClientAssertion(agent, agent.endpoints.token);
        const [header, payload, signature] = valid.split(".");
        const bytes = Buffer.from(signature, "base64url");
        bytes[5] ^= 0xff;
        return `${header}.${payload}.${bytes.toString("base64url")}`;
      },
    ],
    [
      "tampered claims",
      () => {
        const valid = signClientAssertion(agent, agent.endpoints.token);
        const [header, , signature] = valid.split(".");
        return `${header}.${b64(claimsFor(agent, { exp: Math.floor(Date.now() / 1000) + 290 }))}.${signature}`;
      },
    ],
    [
      "a kid that is not the enrolled key's thumbprint",
      () => forge({ alg: "ES256", kid: "not-the-thumbprint" }, claimsFor(agent), agent.privateKey),
    ],
    [
      "no jti",
      () => forge({ alg: "ES256" }, claimsFor(agent, { jti: undefined }), agent.privateKey),
    ],
  ];

  it.each(attacks)("refuses an assertion: %s", async (_name, make) => {
    expectInvalid(await exchange(make()));
  });

  it("refuses a replayed jti", async () => {
    const assertion = signClientAssertion(agent, agent.endpoints.token);
    expect((await exchange(assertion)).response.status).toBe(200);
    expectInvalid(await exchange(assertion));
  });

  it("refuses a client_id other than the assertion's subject", async () => {
    expectInvalid(await exchange(signClientAssertion(agent, agent.endpoints.token), "agt_other"));
  });

  it("never logs an assertion or an access token", async () => {
    const assertion = signClientAssertion(agent, agent.endpoints.token);
    const minted = await exchange(assertion);
    const token = minted.data?.access_token ?? "";
    const everything = t.logs.join("\n");
    expect(everything).not.toContain(assertion.split(".")[2]);
    expect(everything).not.toContain(token.split(".")[2]);
  });
});

describe("access tokens", () => {
  const claim = (headers: Record<string, string>, instance = agent.instance) =>
    anonymousAgentClient(t).POST("/engines/jobs/{instance}/claim", {
      params: { path: { instance }, query: { wait: 0 } },
      headers,
    });

  it("answers 401 auth.required without credentials", async () => {
    const result = await claim({});
    expect(result.response.status).toBe(401);
    expect(result.error).toMatchObject({ error: { code: "auth.required" } });
  });

  it("refuses a token with alg none, one signed by another key, and an expired one", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: agent.instance,
      iss: t.url,
      aud: `${t.url}/engines`,
      iat: now,
      exp: now + 300,
    };
    const stranger = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const jwks = await anonymousAgentClient(t).GET("/engines/jwks.json");
    const kid = jwks.data?.keys.at(-1)?.kid ?? "";
    for (const token of [
      forge({ alg: "none", kid }, claims),
      forge({ alg: "ES256", kid }, claims, stranger),
      jwt.sign(claims, "secret", { algorithm: "HS256", keyid: kid }),
    ])
      expectInvalid(await claim({ authorization: `Bearer ${token}` }));
    const ring = new SigningKeyRing(t.dataDir);
    const current = ring.byKid(kid);
    if (!current) throw new Error("the published key is on disk");
    const expired = jwt.sign({ ...claims, iat: now - 2000, exp: now - 1000 }, current.privateKey, {
      algorithm: "ES256",
      keyid: kid,
    });
    expectInvalid(await claim({ authorization: `Bearer ${expired}` }));
    const valid = jwt.sign(claims, current.privateKey, { algorithm: "ES256", keyid: kid });
    expect((await claim({ authorization: `Bearer ${valid}` })).response.status).toBe(204);
  });

  it("answers another agent's paths 404", async () => {
    const other = await enrollTestAgent(t);
    const result = await agent.client.POST("/engines/jobs/{instance}/claim", {
      params: { path: { instance: other.instance }, query: { wait: 0 } },
    });
    expect(result.response.status).toBe(404);
    expect(result.error).toMatchObject({ error: { code: "resource.not_found" } });
  });

  it("stops working at once when the agent is revoked", async () => {
    const doomed = await enrollTestAgent(t);
    const minted = await exchange(signClientAssertion(doomed, doomed.endpoints.token));
    const bearer = { authorization: `Bearer ${minted.data?.access_token ?? ""}` };
    expect((await claim(bearer, doomed.instance)).response.status).toBe(204);
    const revoked = await t.client().DELETE("/v1/agents/{agent}", {
      params: { path: { agent: doomed.instance } },
    });
    expect(revoked.response.ok).toBe(true);
    expectInvalid(await claim(bearer, doomed.instance));
    expectInvalid(await exchange(signClientAssertion(doomed, doomed.endpoints.token)));
  });
});

describe("key rotation", () => {
  it("signs new tokens with the new key and keeps tokens of the old one valid", async () => {
    const before = await exchange(signClientAssertion(agent, agent.endpoints.token));
    const oldToken = before.data?.access_token ?? "";
    const oldKid = jwt.decode(oldToken, { complete: true })?.header.kid;
    const rotated = await runControllerCli(["rotate-key", "--data-dir", t.dataDir]);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^new signing key ctl-\S+;/);
    const after = await exchange(signClientAssertion(agent, agent.endpoints.token));
    const newKid = jwt.decode(after.data?.access_token ?? "", { complete: true })?.header.kid;
    expect(newKid).not.toBe(oldKid);
    const jwks = await anonymousAgentClient(t).GET("/engines/jwks.json");
    expect(jwks.data?.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    const claim = await anonymousAgentClient(t).POST("/engines/jobs/{instance}/claim", {
      params: { path: { instance: agent.instance }, query: { wait: 0 } },
      headers: { authorization: `Bearer ${oldToken}` },
    });
    expect(claim.response.status).toBe(204);
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After once a client spends its burst", async () => {
    const limited = await startTestController({ tokenRequestsPerMinute: 1 });
    try {
      const who = await enrollTestAgent(limited);
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let call = 0; call < 12; call++) {
        const result = await anonymousAgentClient(limited).POST(
          "/engines/oauth/token",
          tokenForm(signClientAssertion(who, who.endpoints.token)),
        );
        statuses.push(result.response.status);
        if (result.response.status === 429) retryAfter = result.response.headers.get("retry-after");
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
      expect(statuses.slice(10)).toEqual([429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });
});
