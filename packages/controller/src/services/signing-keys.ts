import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * The controller's ES256 keys for access tokens, one PEM file each in `<dataDir>/signing-keys/`
 * (mode 0600). The file name is the `kid`, which starts with its creation time, so the newest
 * file is the signing key and the others only verify. Files rather than database rows: a key
 * rotated by `stowage-controller rotate-key` while the controller runs is picked up at its next
 * mint, and a backup of the database never carries the private keys.
 */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  createdAt: Date;
}

const KID = /^ctl-(\d{8}T\d{9}Z)-([0-9a-f]{6})$/;
const SUFFIX = ".pem";

export class SigningKeyRing {
  private readonly dir: string;
  private readonly cache = new Map<string, SigningKey>();

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "signing-keys");
  }

  /** Creates the first key if there is none: called at start, so a fresh data directory works. */
  ensure(now: Date = new Date()): SigningKey {
    return this.current() ?? this.rotate(now, Number.POSITIVE_INFINITY).created;
  }

  /** The newest key: the one that signs. */
  current(): SigningKey | undefined {
    const newest = this.kids().at(-1);
    return newest === undefined ? undefined : this.byKid(newest);
  }

  /** Every key still on disk, oldest first: what `GET /engines/jwks.json` publishes. */
  all(): SigningKey[] {
    return this.kids()
      .map((kid) => this.byKid(kid))
      .filter((key): key is SigningKey => key !== undefined);
  }

  byKid(kid: string): SigningKey | undefined {
    if (!KID.test(kid)) return undefined;
    const cached = this.cache.get(kid);
    if (cached) return cached;
    let pem: string;
    try {
      pem = readFileSync(path.join(this.dir, kid + SUFFIX), "utf8");
    } catch {
      return undefined;
    }
    const privateKey = createPrivateKey(pem);
    const key = {
      kid,
      privateKey,
      publicKey: createPublicKey(privateKey),
      createdAt: createdAtOf(kid),
    };
    this.cache.set(kid, key);
    return key;
  }

  /**
   * Makes a new signing key. Older keys stay for verification until every token they signed has
   * expired: a key is removed once its successor is older than `keepRetiredMs` (the longest
   * access-token lifetime), so rotating never breaks a live token.
   */
  rotate(now: Date, keepRetiredMs: number): { created: SigningKey; removed: string[] } {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const existing = this.kids();
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const kid = `ctl-${compactTime(now)}-${randomBytes(3).toString("hex")}`;
    const file = path.join(this.dir, kid + SUFFIX);
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), {
      mode: 0o600,
      flag: "wx",
    });
    chmodSync(file, 0o600);
    const removed: string[] = [];
    // A key retired at its successor's creation; the newest existing key's successor is `kid`.
    const successors = [...existing.slice(1).map(createdAtOf), now];
    existing.forEach((old, index) => {
      if (now.getTime() - successors[index].getTime() > keepRetiredMs) {
        rmSync(path.join(this.dir, old + SUFFIX), { force: true });
        this.cache.delete(old);
        removed.push(old);
      }
    });
    const created = this.byKid(kid);
    if (!created) throw new Error(`the new signing key ${kid} cannot be read back`);
    return { created, removed };
  }

  private kids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => name.slice(0, -SUFFIX.length))
      .filter((kid) => KID.test(kid))
      .sort();
  }
}

function compactTime(at: Date): string {
  // Milliseconds included: two rotations in one second still sort in creation order.
  return at.toISOString().replace(/[-:.]/g, "");
}

function createdAtOf(kid: string): Date {
  const stamp = KID.exec(kid)?.[1] ?? "";
  return new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}.${stamp.slice(15, 18)}Z`,
  );
}
