import { decodingStages } from "./artifact-format";
import type { ResultManifest } from "./backup";
import { PhaseClock } from "./phase-clock";
import { checkStoredBackup, formatOfRef, type BackupRef } from "./stored-backup";

/**
 * Re-reads a stored backup and checks its size and sha256 against the manifest, then reads it
 * once more through decryption and gunzip (into nothing), so a backup whose key is lost or whose
 * stream was damaged before it was hashed fails verification too. Two reads, so that a mismatch
 * is reported as a mismatch rather than as whatever the decoder trips over first.
 */
export async function verifyBackup(
  backup: BackupRef,
  options: { signal?: AbortSignal } = {},
): Promise<ResultManifest> {
  const clock = new PhaseClock();
  const format = formatOfRef(backup);
  const digest = await clock.time("verify", () =>
    checkStoredBackup(backup, { signal: options.signal }),
  );
  await clock.time("decode", async () =>
    checkStoredBackup(backup, { signal: options.signal, then: await decodingStages(format) }),
  );
  return {
    size_bytes: digest.sizeBytes,
    sha256: digest.sha256,
    location: backup.location,
    compression: format.compression,
    ...(format.encryption ? { encryption: format.encryption } : {}),
    ...clock.finish(),
  };
}
