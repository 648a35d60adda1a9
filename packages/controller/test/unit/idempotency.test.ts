import { openDatabase } from "../../src/store/database";
import { IdempotencyStore } from "../../src/store/idempotency-store";
import { IdempotencyService } from "../../src/services/idempotency";

describe("Idempotency-Key", () => {
  const db = openDatabase(":memory:");
  const store = new IdempotencyStore(db);
  const service = new IdempotencyService(db, store);
  let runs = 0;
  const create = () => {
    runs++;
    return { status: 201, body: { id: `res-${runs}`, secret: `secret-${runs}` } };
  };
  const call = (key: string | undefined, body: unknown, principal = "tok_a") =>
    service.run({ principal, key, operation: "createToken", body }, create);

  afterAll(() => db.close());

  it("runs every time without a key", () => {
    runs = 0;
    call(undefined, { name: "a" });
    call(undefined, { name: "a" });
    expect(runs).toBe(2);
  });

  it("replays the first answer, secret included, for the same key and body", () => {
    runs = 0;
    const first = call("key-1", { name: "a", verbs: ["x"] });
    const again = call("key-1", { verbs: ["x"], name: "a" });
    expect(runs).toBe(1);
    expect(again).toEqual(first);
  });

  it("refuses the same key with another body (409)", () => {
    expect(() => call("key-1", { name: "b" })).toThrow(
      expect.objectContaining({ status: 409, code: "resource.conflict" }),
    );
  });

  it("scopes keys to the principal", () => {
    runs = 0;
    call("key-2", { name: "a" }, "tok_a");
    call("key-2", { name: "a" }, "tok_b");
    expect(runs).toBe(2);
  });

  it("stores neither the key nor the secret in the clear", () => {
    call("key-secret-test", { name: "c" });
    const rows = db.prepare<[], Record<string, unknown>>("SELECT * FROM idempotency_records").all();
    const dump = rows
      .flatMap((row) =>
        Object.values(row).map((value) =>
          Buffer.isBuffer(value) ? value.toString("latin1") : String(value),
        ),
      )
      .join("|");
    expect(dump).toContain("createToken");
    expect(dump).not.toContain("key-secret-test");
    expect(dump).not.toMatch(/secret-\d/);
  });
});
