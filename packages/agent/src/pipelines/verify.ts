import { decodingStages } from "./artifact-format";
import type { ResultManifest } from "./backup";
import { PhaseClock } from "./phase-clock";
import {
  checkStoredBackup,
  digestStoredBackup,
  formatOfRef,
  matches,
  type BackupRef,
} from "./stored-backup";

/**
 * Re-reads a stored backup and answers the size and sha256 it read. The controller compares them
 * with its catalog and records a mismatch as `verify.failed` (openapi/control.yaml), so a
 * mismatch is a result here, not an error. A matching backup is read once more through decryption
 * and gunzip (into nothing), so one whose key is lost or whose stream was damaged before it was
 * hashed fails verification too (as a failed job). Two reads, so that a mismatch is reported as a
 * mismatch rather than as whatever the decoder trips over first.
 */
export async function verifyBackup(
  backup: BackupRef,
  options: { signal?: AbortSignal } = {},
): Promise<ResultManifest> {
  const clock = new PhaseClock();
  const format = formatOfRef(backup);
  const digest = await clock.time("verify", () =>
    digestStoredBackup(backup, { signal: options.signal }),
  );
  if (matches(backup, digest)) {
    await clock.time("decode", async () =>
      checkStoredBackup(backup, { signal: options.signal, then: await decodingStages(format) }),
    );
  }
  return {
    size_bytes: digest.sizeBytes,
    sha256: digest.sha256,
    location: backup.location,
    compression: format.compression,
    ...(format.encryption ? { encryption: format.encryption } : {}),
    ...clock.finish(),
  };
}
