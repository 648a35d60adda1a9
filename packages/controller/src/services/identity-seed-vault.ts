import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals the Ed25519 seeds of issued identities at rest (AES-256-GCM, the agent id as associated
 * data, so a sealed seed moved to another agent's row does not open). mysql-backup needs its seed
 * back in `spec.telemetry.credentials` of the config it fetches: the one answer allowed to carry
 * an agent's own credentials (DESIGN 4). The key lives in the data directory (0600), apart from
 * the database, so a copy of `stowage.db` alone reveals no seed.
 */
export class IdentitySeedVault {
  private readonly key: Buffer;

  constructor(dataDir: string) {
    this.key = loadOrCreateKey(path.join(dataDir, "identity-seal.key"));
  }

  seal(seed: Buffer, agentId: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(agentId));
    const sealed = Buffer.concat([cipher.update(seed), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
  }

  /** The seed, or `undefined` when the box does not open (another key, another agent, tampered). */
  open(box: Buffer, agentId: string): Buffer | undefined {
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, box.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(agentId));
      decipher.setAuthTag(box.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(box.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      return undefined;
    }
  }
}

function loadOrCreateKey(file: string): Buffer {
  try {
    const key = readFileSync(file);
    if (key.length !== KEY_BYTES) throw new Error(`${file} is not a ${KEY_BYTES}-byte key`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  writeFileSync(file, key, { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return key;
}
