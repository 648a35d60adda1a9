import { createHash, randomBytes } from "node:crypto";

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

export function hashTokenSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
