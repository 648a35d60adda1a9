import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { components } from "@stowage/agent-client";
import { openStoredBackup } from "../targets/file-target";
import type { ArtifactFormat } from "./artifact-format";
import { createDigestStream, type Digest } from "./digest-stream";

export type BackupRef = components["schemas"]["BackupRef"];

/** The stored bytes are not the ones the catalog recorded: nothing may be restored from them. */
export class ChecksumMismatchError extends Error {
  constructor(ref: BackupRef, actual: Digest) {
    super(
      `backup ${ref.id} at ${ref.location} does not match its manifest: ` +
        `sha256 ${actual.sha256} (${actual.sizeBytes} bytes), expected ${ref.sha256} (${ref.size_bytes} bytes)`,
    );
    this.name = "ChecksumMismatchError";
  }
}

export function formatOfRef(ref: BackupRef): ArtifactFormat {
  return { compression: ref.compression ?? "none", encryption: ref.encryption };
}

export function matches(ref: BackupRef, actual: Digest): boolean {
  return actual.sha256 === ref.sha256 && actual.sizeBytes === ref.size_bytes;
}

export function assertMatches(ref: BackupRef, actual: Digest): void {
  if (!matches(ref, actual)) {
    throw new ChecksumMismatchError(ref, actual);
  }
}

/** Reads a stored backup end to end and checks it against its manifest, writing nothing. */
export async function checkStoredBackup(
  ref: BackupRef,
  options: { signal?: AbortSignal; then?: NodeJS.ReadWriteStream[] } = {},
): Promise<Digest> {
  const actual = await digestStoredBackup(ref, options);
  assertMatches(ref, actual);
  return actual;
}

/** Reads a stored backup end to end and answers the size and sha256 it read, writing nothing. */
export async function digestStoredBackup(
  ref: BackupRef,
  options: { signal?: AbortSignal; then?: NodeJS.ReadWriteStream[] } = {},
): Promise<Digest> {
  const digest = createDigestStream();
  const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await pipeline([openStoredBackup(ref.location), digest, ...(options.then ?? []), discard], {
    signal: options.signal,
  });
  return digest.result();
}
