import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SigningKeyRing } from "../../src/services/signing-keys";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "stowage-keys-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (iso: string) => new Date(iso);

it("creates one key on first start, private to its owner, and keeps it afterwards", () => {
  const first = new SigningKeyRing(dir).ensure(at("2026-01-01T00:00:00Z"));
  const again = new SigningKeyRing(dir).ensure(at("2026-01-02T00:00:00Z"));
  expect(again.kid).toBe(first.kid);
  const files = readdirSync(path.join(dir, "signing-keys"));
  expect(files).toEqual([`${first.kid}.pem`]);
  expect(statSync(path.join(dir, "signing-keys", files[0])).mode & 0o777).toBe(0o600);
});

it("signs with the newest key and drops a key only once its successor outlived every token", () => {
  const ring = new SigningKeyRing(dir);
  const a = ring.ensure(at("2026-01-01T00:00:00Z"));
  const hour = 3600_000;
  const b = ring.rotate(at("2026-01-01T10:00:00Z"), hour);
  expect(b.removed).toEqual([]);
  expect(ring.current()?.kid).toBe(b.created.kid);
  // A's successor (B) is only 30 minutes old: A's last tokens may still be alive.
  const c = ring.rotate(at("2026-01-01T10:30:00Z"), hour);
  expect(c.removed).toEqual([]);
  expect(ring.all().map((key) => key.kid)).toEqual([a.kid, b.created.kid, c.created.kid]);
  // Now B has existed for over an hour: every token A signed has expired. B's successor is new.
  const d = ring.rotate(at("2026-01-01T11:01:00Z"), hour);
  expect(d.removed).toEqual([a.kid]);
  expect(ring.byKid(a.kid)).toBeUndefined();
  expect(ring.all().map((key) => key.kid)).toEqual([b.created.kid, c.created.kid, d.created.kid]);
});

it("orders two rotations in the same second by creation", () => {
  const ring = new SigningKeyRing(dir);
  ring.ensure(at("2026-01-01T00:00:00.100Z"));
  const later = ring.rotate(at("2026-01-01T00:00:00.900Z"), 3600_000);
  expect(ring.current()?.kid).toBe(later.created.kid);
});

it("ignores files that are not its keys and kids that try to leave the directory", () => {
  const ring = new SigningKeyRing(dir);
  ring.ensure();
  expect(ring.byKid("../../etc/passwd")).toBeUndefined();
  expect(ring.byKid("ctl-nope")).toBeUndefined();
});
