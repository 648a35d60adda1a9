/**
 * Real certificates for TLS tests, made by the `openssl` CLI (node:crypto cannot issue them): the
 * controller's server certificate naming 127.0.0.1 in its SAN, and the self-signed client
 * certificate mysql-backup makes from its Ed25519 seed.
 */
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import tls from "node:tls";
import { Agent } from "undici";

export interface ServerCertificate {
  certFile: string;
  keyFile: string;
  certPem: string;
}

export function makeServerCertificate(dir: string): ServerCertificate {
  const certFile = path.join(dir, "server-cert.pem");
  const keyFile = path.join(dir, "server-key.pem");
  openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    "/CN=stowage-test-controller",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  return { certFile, keyFile, certPem: readFileSync(certFile, "utf8") };
}

/**
 * The Ed25519 key a 32-byte seed stands for, as Go's `ed25519.NewKeyFromSeed` makes it: PKCS#8
 * is a fixed prefix and the seed (RFC 8410). Written here independently of the controller's own
 * derivation, so the conformance test does not check the controller against itself.
 */
export function ed25519KeyFromSeed(seed: Buffer): KeyObject {
  const prefix = Buffer.from("302e020100300506032b657004220420", "hex");
  return createPrivateKey({ key: Buffer.concat([prefix, seed]), format: "der", type: "pkcs8" });
}

/** A self-signed client certificate for `key`, as mysql-backup presents it. */
export function selfSignedClientCertificate(
  dir: string,
  key: KeyObject,
  name: string,
): { certPem: string; keyPem: string } {
  const keyFile = path.join(dir, `${name}-key.pem`);
  const certFile = path.join(dir, `${name}-cert.pem`);
  const keyPem = key.export({ type: "pkcs8", format: "pem" }).toString();
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  openssl([
    "req",
    "-x509",
    "-key",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    `/CN=${name}`,
  ]);
  return { certPem: readFileSync(certFile, "utf8"), keyPem };
}

/**
 * An undici dispatcher that presents a client certificate and trusts the server by its pinned
 * `sha256:<hex>` fingerprint (no CA), requiring the certificate's SAN to name the host: what
 * mysql-backup's `certificates` list means.
 */
export function pinnedDispatcher(options: {
  pins: readonly string[];
  client?: { certPem: string; keyPem: string };
}): Agent {
  return new Agent({
    connect: (connectOptions, callback) => {
      const host = connectOptions.hostname;
      const socket = tls.connect({
        host,
        port: Number(connectOptions.port),
        servername: isIP(host) ? undefined : host,
        cert: options.client?.certPem,
        key: options.client?.keyPem,
        // Trust comes from the pin below, not from a CA.
        rejectUnauthorized: false,
      });
      socket.once("error", (error) => callback(error, null));
      socket.once("secureConnect", () => {
        const peer = socket.getPeerCertificate();
        const fingerprint = `sha256:${createHash("sha256").update(peer.raw).digest("hex")}`;
        const problem = !options.pins.includes(fingerprint)
          ? new Error(`server certificate ${fingerprint} is not pinned`)
          : tls.checkServerIdentity(host, peer);
        if (problem) {
          socket.destroy(problem);
          callback(problem, null);
          return;
        }
        callback(null, socket);
      });
    },
  });
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}
