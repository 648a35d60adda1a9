import { startTestController, type TestController } from "./test-controller";

let t: TestController;
beforeAll(async () => {
  t = await startTestController();
});
afterAll(() => t.stop());

const withKey = (key: string) => ({ header: { "Idempotency-Key": key } });

describe("Idempotency-Key on creates", () => {
  it("replays the first answer of createToken, secret and headers included, and creates one token", async () => {
    const body = { name: "retried", verbs: ["backup:read" as const] };
    const first = await t.client().POST("/v1/tokens", { params: withKey("k-token-1"), body });
    const again = await t.client().POST("/v1/tokens", { params: withKey("k-token-1"), body });
    expect(again.response.status).toBe(201);
    expect(again.response.headers.get("cache-control")).toBe("no-store");
    expect(again.data?.result).toEqual(first.data?.result);
    const list = await t.client().GET("/v1/tokens", { params: { query: { limit: 1000 } } });
    expect(list.data?.result.items.filter((token) => token.name === "retried")).toHaveLength(1);
  });

  it("answers 409 for the same key with another body", async () => {
    await t
      .client()
      .POST("/v1/tenants", { params: withKey("k-tenant"), body: { name: "first-tenant" } });
    const other = await t
      .client()
      .POST("/v1/tenants", { params: withKey("k-tenant"), body: { name: "second-tenant" } });
    expect(other.response.status).toBe(409);
    expect(other.error?.error.code).toBe("resource.conflict");
  });

  it("keeps keys apart per principal", async () => {
    const created = await t
      .client()
      .POST("/v1/tokens", { body: { name: "second-admin", verbs: ["admin:*"] } });
    const other = created.data?.result.secret ?? "";
    const body = { name: "per-principal", verbs: ["backup:read" as const] };
    const mine = await t.client().POST("/v1/tokens", { params: withKey("shared-key"), body });
    const theirs = await t
      .client(other)
      .POST("/v1/tokens", { params: withKey("shared-key"), body });
    expect(theirs.data?.result.id).not.toBe(mine.data?.result.id);
  });

  it("never stores the secret it replays in the clear", async () => {
    const { data } = await t.client().POST("/v1/tokens", {
      params: withKey("k-secret-scan"),
      body: { name: "scanned", verbs: ["backup:read"] },
    });
    const secret = data?.result.secret ?? "missing";
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(`${t.dataDir}/stowage.db`, { readonly: true });
    try {
      const rows = db
        .prepare<[], { sealed: Buffer }>("SELECT sealed FROM idempotency_records")
        .all();
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((row) => row.sealed.toString("latin1").includes(secret))).toBe(false);
    } finally {
      db.close();
    }
  });
});
