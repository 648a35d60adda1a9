import {
  createHash,
  createPrivateKey,
  createPublicKey,
  X509Certificate,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";
import { ApiError } from "@stowage/server-runtime";

/**
 * An Ed25519 private key in PKCS#8 DER is this fixed prefix followed by the 32-byte seed
 * (RFC 8410): how node:crypto, which has no "from seed" call, derives the key mysql-backup derives.
 */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * `sha256:<hex>` of a public key's SubjectPublicKeyInfo DER: the one fingerprint used for enrolled
 * keys and issued identities alike, so the agent API can look up the key a client certificate
 * presents (`new X509Certificate(raw).publicKey`) with the same function.
 */
export function publicKeyFingerprint(key: KeyObject): string {
  const der = key.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: "spki", format: "pem" }).toString();
}

/** RFC 7638 JWK thumbprint (base64url SHA-256): the `kid` of an agent's client assertions. */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = key.export({ format: "jwk" });
  // The required members only, in lexicographic order, as RFC 7638 section 3.2 prescribes.
  const members =
    jwk.kty === "EC"
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

export interface Ed25519Identity {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The 32 raw bytes of the public key. */
  rawPublicKey: Buffer;
}

/** The Ed25519 key pair a 32-byte seed stands for, as mysql-backup derives it from `credentials`. */
export function ed25519FromSeed(seed: Buffer): Ed25519Identity {
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const publicKey = createPublicKey(privateKey);
  const x = publicKey.export({ format: "jwk" }).x;
  if (x === undefined) throw new Error("an Ed25519 public key exports its x coordinate");
  return { privateKey, publicKey, rawPublicKey: Buffer.from(x, "base64url") };
}

/**
 * `sha256:<hex>` of the DER of the first certificate in a PEM (the server's own, before any
 * chain): the form databacker's `certificates` pin takes.
 */
export function certificateFingerprint(pem: string): string {
  const der = new X509Certificate(pem).raw;
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

const PEM_PUBLIC_KEY =
  /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/;

/**
 * An agent's enrolled key: ECDSA P-256 only (the agent API signs assertions with ES256), as a PEM
 * SubjectPublicKeyInfo or a JWK. node:crypto would happily derive a public key from a private
 * PEM or a JWK carrying `d`; both are refused, so a private key is never accepted (or stored).
 */
export function parseEnrolledPublicKey(input: string | JsonWebKey): KeyObject {
  const refuse = (message: string) =>
    new ApiError(400, "request.invalid", `The public key is refused: ${message}.`, {
      details: [{ path: "/body/public_key", message }],
    });
  let key: KeyObject;
  if (typeof input === "string") {
    if (!PEM_PUBLIC_KEY.test(input)) throw refuse("is not a PEM PUBLIC KEY");
    try {
      key = createPublicKey({ key: input, format: "pem" });
    } catch {
      throw refuse("is not a readable PEM public key");
    }
  } else {
    if ("d" in input) throw refuse("is a private key (the JWK carries d)");
    if (input.kty !== "EC" || input.crv !== "P-256") throw refuse("is not an EC P-256 JWK");
    try {
      key = createPublicKey({ key: input, format: "jwk" });
    } catch {
      throw refuse("is not a valid EC P-256 JWK");
    }
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw refuse("is not an ECDSA P-256 key");
  }
  return key;
}
