import { hash, randomBytes } from "node:crypto";

const SECRET_PREFIX = "stw_";

/** 32 random bytes: guessing is hopeless, so a fast hash (not a password KDF) is the right store. */
export function newTokenSecret(): { secret: string; hash: string; prefix: string } {
  const secret = `${SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
  return {
    secret,
    hash: hashTokenSecret(secret),
    prefix: secret.slice(0, SECRET_PREFIX.length + 6),
  };
}

/** One-shot `hash`: a `createHash` object per request costs several times as much. */
export function hashTokenSecret(secret: string): string {
  return hash("sha256", secret, "hex");
}
