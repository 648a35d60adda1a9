import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError, type AuthenticateInput } from "@stowage/server-runtime";

export interface BasicCredentials {
  username: string;
  password: string;
}

/** The agent's one client: who a request authenticated as. */
export interface Principal {
  username: string;
}

/**
 * The router's `authenticate` hook for the spec's `basic` scheme. Both members are compared as
 * SHA-256 digests with `timingSafeEqual`: equal lengths whatever was sent, and no early exit that
 * would let response times reveal how much of a guess was right.
 */
export function createBasicAuthenticate(expected: BasicCredentials) {
  const wanted = digest(`${expected.username}:${expected.password}`);
  return ({ req }: AuthenticateInput): Principal => {
    const header = req.headers.authorization ?? "";
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    const given = match ? Buffer.from(match[1], "base64").toString("utf8") : "";
    // The real agent's answer for a missing and a wrong credential alike (spec: `Unauthorized`).
    if (!match || !timingSafeEqual(digest(given), wanted)) {
      throw new ApiError(401, "auth.required", "Unauthorised.");
    }
    return { username: expected.username };
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
