import { createHash } from "node:crypto";
import { Transform } from "node:stream";

export interface Digest {
  sha256: string;
  sizeBytes: number;
}

/** A pass-through that hashes and counts what flows through it; `result()` after the pipeline ends. */
export function createDigestStream(
  onBytes?: (sizeBytes: number) => void,
): Transform & { result(): Digest } {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  let sha256: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      onBytes?.(sizeBytes);
      callback(null, chunk);
    },
    flush(callback) {
      sha256 = hash.digest("hex");
      callback();
    },
  });
  return Object.assign(stream, {
    result(): Digest {
      if (sha256 === undefined) throw new Error("digest read before the stream ended");
      return { sha256, sizeBytes };
    },
  });
}
