import { createGunzip, createGzip } from "node:zlib";
import { createDecryptStream, createEncryptStream } from "../crypto/encrypt-stream";
import { readEncryptionKey } from "../crypto/encryption-key";

/** How a stored artifact is encoded, as the v2 config asks and the manifest records it. */
export interface ArtifactFormat {
  compression: "none" | "gzip";
  gzipLevel?: number;
  encryption?: { algorithm: "aes-256-gcm"; key_ref: string };
}

export type Transforms = NodeJS.ReadWriteStream[];

/** The stages from raw bytes to stored bytes: gzip first (ciphertext does not compress), then encrypt. */
export async function encodingStages(format: ArtifactFormat): Promise<Transforms> {
  const stages: Transforms = [];
  if (format.compression === "gzip") stages.push(createGzip({ level: format.gzipLevel ?? 6 }));
  if (format.encryption) {
    stages.push(createEncryptStream(await readEncryptionKey(format.encryption.key_ref)));
  }
  return stages;
}

/** The stages from stored bytes back to raw bytes. */
export async function decodingStages(format: ArtifactFormat): Promise<Transforms> {
  const stages: Transforms = [];
  if (format.encryption) {
    stages.push(createDecryptStream(await readEncryptionKey(format.encryption.key_ref)));
  }
  if (format.compression === "gzip") stages.push(createGunzip());
  return stages;
}

/** The file suffix of an artifact, so an operator can tell what a file holds from its name. */
export function artifactSuffix(format: ArtifactFormat): string {
  return `${format.compression === "gzip" ? ".gz" : ""}${format.encryption ? ".enc" : ""}`;
}
