/**
 * Bearer tokens are authenticated from a cache of principals: whatever ends a token (a revoke
 * here, a write by another connection or process, its tenant's deletion, its expiry) refuses its
 * very next request, and `last_used_at` is still written at most once a minute.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ApiError } from "@stowage/server-runtime";
import { createStores, type Stores } from "../../src/services/control-context";
import type { OperatorPrincipal } from "../../src/services/principal";
import { TokensService } from "../../src/services/tokens-service";
import { openDatabase, type Db } from "../../src/store/database";

const NOW = Date.UTC(2026, 0, 1);

let dir: string;
let db: Db;
let other: Db;
let stores: Stores;
let tokens: TokensService;
let admin: { principal: OperatorPrincipal; requestId: string };

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "stowage-tokens-"));
  db = openDatabase(path.join(dir, "stowage.db"));
  // Another connection to the same file: what another process writing the database would be.
  other = openDatabase(path.join(dir, "stowage.db"));
  stores = createStores(db);
  tokens = new TokensService(stores);
  // The root tenant is the oldest one.
  for (const [id, at] of [
    ["ten_root", "2020-01-01T00:00:00.000Z"],
    ["ten_other", "2021-01-01T00:00:00.000Z"],
  ]) {
    stores.tenants.insert({ id, name: id, description: null, created_at: at, updated_at: at });
  }
  admin = {
    principal: tokens.authenticate(tokens.bootstrapAdmin("ten_root")),
    requestId: "test",
  };
  jest.spyOn(Date, "now").mockReturnValue(NOW);
});
afterEach(() => {
  jest.restoreAllMocks();
  db.close();
  other.close();
  rmSync(dir, { recursive: true, force: true });
});

function reader(input: { tenant_id?: string; expires_at?: string } = {}) {
  return tokens.create(admin, { name: "reader", verbs: ["backup:read"], ...input });
}

/** A request sent after a commit is read from its socket in a later turn of the event loop. */
const nextRequest = () => new Promise((resolve) => setImmediate(resolve));

/** The 401's message, or `undefined` when the secret authenticates. */
function refusal(secret: string): string | undefined {
  try {
    tokens.authenticate(secret);
    return undefined;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return error.message;
    throw error;
  }
}

describe("token principal cache", () => {
  it("answers the same principal again without reading the token", () => {
    const { secret, id } = reader();
    const first = tokens.authenticate(secret);
    const lookup = jest.spyOn(stores.tokens, "bySecretHash");
    expect(tokens.authenticate(secret)).toBe(first);
    expect(lookup).not.toHaveBeenCalled();
    expect(first).toMatchObject({ tokenId: id, tenantId: "ten_root" });
    expect([...first.verbs]).toEqual(["backup:read"]);
  });

  it.each([
    [
      "revoked through the service",
      (id: string) => tokens.revoke(admin, id),
      "The token is revoked.",
    ],
    [
      "revoked by another connection",
      (id: string) => other.prepare("UPDATE tokens SET revoked_at = 'now' WHERE id = ?").run(id),
      "The token is revoked.",
    ],
    [
      "deleted by another connection",
      (id: string) => other.prepare("DELETE FROM tokens WHERE id = ?").run(id),
      "The token is not valid.",
    ],
    [
      "given an expiry in the past by another connection",
      (id: string) =>
        other
          .prepare("UPDATE tokens SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?")
          .run(id),
      "The token is expired.",
    ],
  ])("refuses a token at its next request once it is %s", async (_name, end, message) => {
    const { secret, id } = reader();
    tokens.authenticate(secret);
    // A hit with nothing written since: what a token in steady use gets.
    tokens.authenticate(secret);
    end(id);
    await nextRequest();
    expect(refusal(secret)).toBe(message);
  });

  it("refuses a token of a deleted tenant (the cascade)", async () => {
    const { secret } = reader({ tenant_id: "ten_other" });
    tokens.authenticate(secret);
    tokens.authenticate(secret);
    other.prepare("DELETE FROM tenants WHERE id = 'ten_other'").run();
    await nextRequest();
    expect(refusal(secret)).toBe("The token is not valid.");
  });

  it("refuses a cached token once it expires, with no write to tell it", () => {
    const { secret } = reader({ expires_at: new Date(NOW + 5000).toISOString() });
    tokens.authenticate(secret);
    jest.spyOn(Date, "now").mockReturnValue(NOW + 5000);
    expect(refusal(secret)).toBe("The token is expired.");
  });

  it("keeps the other tokens' principals valid when one is used", () => {
    const first = reader();
    const second = reader();
    tokens.authenticate(first.secret);
    tokens.authenticate(second.secret);
    tokens.revoke(admin, first.id);
    expect(refusal(first.secret)).toBe("The token is revoked.");
    expect(refusal(second.secret)).toBeUndefined();
  });

  it("writes last_used_at on first use and then at most once a minute", () => {
    const { secret, id } = reader();
    const lastUsed = () => stores.tokens.byId(id, "ten_root")?.last_used_at;
    tokens.authenticate(secret);
    expect(lastUsed()).toBe(new Date(NOW).toISOString());
    jest.spyOn(Date, "now").mockReturnValue(NOW + 59_000);
    tokens.authenticate(secret);
    expect(lastUsed()).toBe(new Date(NOW).toISOString());
    jest.spyOn(Date, "now").mockReturnValue(NOW + 61_000);
    tokens.authenticate(secret);
    expect(lastUsed()).toBe(new Date(NOW + 61_000).toISOString());
  });
});
