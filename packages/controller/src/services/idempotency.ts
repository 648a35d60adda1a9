import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from "node:crypto";
import { ApiError } from "@stowage/server-runtime";
import type { Db } from "../store/database";
import type { IdempotencyStore } from "../store/idempotency-store";
import { canonicalJson } from "./canonical-json";

/** DESIGN section 4 and the spec's `Idempotency-Key`: a key replays its first answer for 24 hours. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface RecordedReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string | number | readonly string[]>;
}

/**
 * Makes a create count once per `Idempotency-Key`: the same key with the same body (same principal,
 * within 24 hours) replays the first answer; with another body it is 409. The first answer may
 * carry a secret shown once (a token, an enrollment secret), so it is stored sealed under a key
 * derived from the client's Idempotency-Key, which is never stored: the database alone cannot
 * reveal the secret, and the client that retries can.
 */
export class IdempotencyService {
  constructor(
    private readonly db: Db,
    private readonly store: IdempotencyStore,
  ) {}

  /**
   * Runs `create` (synchronous, so its transaction and the record commit together) unless the key
   * was seen; a crash can therefore never leave a created resource whose key would run it again.
   */
  run<R extends RecordedReply>(
    input: { principal: string; key: string | undefined; operation: string; body: unknown },
    create: () => R,
  ): R {
    if (input.key === undefined) return create();
    const { key, principal, operation } = input;
    const derived = Buffer.from(hkdfSync("sha256", key, principal, "stowage idempotency", 32));
    const keyHash = createHash("sha256").update(key).digest("hex");
    const requestMac = createHmac("sha256", derived)
      .update(`${operation}\n${canonicalJson(input.body ?? null)}`)
      .digest("hex");
    return this.db.transaction(() => {
      const now = Date.now();
      this.store.expireBefore(new Date(now - IDEMPOTENCY_WINDOW_MS).toISOString());
      const seen = this.store.find(principal, keyHash);
      if (seen) {
        if (seen.operation !== operation || seen.request_mac !== requestMac) {
          throw new ApiError(
            409,
            "resource.conflict",
            "This Idempotency-Key was used with another request.",
            {
              suggestion: { human: "Use a new Idempotency-Key for a different request." },
            },
          );
        }
        return unseal(derived, seen.sealed) as R;
      }
      const reply = create();
      this.store.insert({
        principal,
        key_hash: keyHash,
        operation,
        request_mac: requestMac,
        status: reply.status,
        sealed: seal(derived, { status: reply.status, body: reply.body, headers: reply.headers }),
        created_at: new Date(now).toISOString(),
      });
      return reply;
    })();
  }
}

function seal(key: Buffer, reply: RecordedReply): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(reply), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

function unseal(key: Buffer, sealed: Buffer): RecordedReply {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(12, 28));
  const plain = Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  return JSON.parse(plain.toString("utf8")) as RecordedReply;
}
