import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { IdentitySeedVault } from "../../src/services/identity-seed-vault";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "stowage-vault-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("opens what it sealed, for the same agent only, across restarts", () => {
  const seed = randomBytes(32);
  const sealed = new IdentitySeedVault(dir).seal(seed, "agt_a");
  expect(sealed.includes(seed)).toBe(false);
  expect(statSync(path.join(dir, "identity-seal.key")).mode & 0o777).toBe(0o600);
  const reopened = new IdentitySeedVault(dir);
  expect(reopened.open(sealed, "agt_a")).toEqual(seed);
  expect(reopened.open(sealed, "agt_b")).toBeUndefined();
});

it("refuses a tampered box and one sealed under another data directory's key", () => {
  const seed = randomBytes(32);
  const sealed = new IdentitySeedVault(dir).seal(seed, "agt_a");
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 1] ^= 1;
  expect(new IdentitySeedVault(dir).open(tampered, "agt_a")).toBeUndefined();
  const other = mkdtempSync(path.join(tmpdir(), "stowage-vault-"));
  try {
    expect(new IdentitySeedVault(other).open(sealed, "agt_a")).toBeUndefined();
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});
