import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/**
 * The stowage encrypted-backup format, version 1 (AES-256-GCM, chunked):
 *
 *   header  = magic "STWGCM01" (8 bytes) || nonce prefix (8 random bytes)
 *   frame*  = length (uint32 BE; high bit set on the last frame) || ciphertext || tag (16 bytes)
 *
 * Frame i is sealed with IV = nonce prefix || uint32 BE i and AAD = header || its length field.
 * Frames rather than one GCM stream because a single GCM message is capped at ~64 GiB and is
 * only authenticated at its very end: here each 64 KiB frame is authenticated before its
 * plaintext is released, reordering breaks the IV, and a stream cut after any frame is refused
 * because the last frame (possibly empty) carries the final flag inside its authenticated data.
 */
const MAGIC = Buffer.from("STWGCM01", "ascii");
const HEADER_BYTES = 16;
const TAG_BYTES = 16;
const FINAL_FLAG = 0x8000_0000;
const FRAME_PLAINTEXT_BYTES = 64 * 1024;
export const KEY_BYTES = 32;

function frameIv(prefix: Buffer, index: number): Buffer {
  const iv = Buffer.alloc(12);
  prefix.copy(iv, 0);
  iv.writeUInt32BE(index, 8);
  return iv;
}

function lengthField(length: number, final: boolean): Buffer {
  const field = Buffer.alloc(4);
  field.writeUInt32BE((final ? FINAL_FLAG : 0) + length);
  return field;
}

function assertKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) {
    throw new Error(`an AES-256-GCM key is ${KEY_BYTES} bytes, got ${key.length}`);
  }
}

export function createEncryptStream(key: Buffer): Transform {
  assertKey(key);
  const header = Buffer.concat([MAGIC, randomBytes(8)]);
  const prefix = header.subarray(8);
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const seal = (plaintext: Buffer, final: boolean): Buffer => {
    const field = lengthField(plaintext.length, final);
    const cipher = createCipheriv("aes-256-gcm", key, frameIv(prefix, index++));
    cipher.setAAD(Buffer.concat([header, field]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([field, body, cipher.getAuthTag()]);
  };

  return new Transform({
    construct(callback) {
      this.push(header);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes > FRAME_PLAINTEXT_BYTES) {
        let buffered = Buffer.concat(pending);
        // Keep the tail back: the last frame must carry the final flag, decided only at flush.
        while (buffered.length > FRAME_PLAINTEXT_BYTES) {
          this.push(seal(buffered.subarray(0, FRAME_PLAINTEXT_BYTES), false));
          buffered = buffered.subarray(FRAME_PLAINTEXT_BYTES);
        }
        pending = [buffered];
        pendingBytes = buffered.length;
      }
      callback();
    },
    flush(callback) {
      this.push(seal(Buffer.concat(pending), true));
      callback();
    },
  });
}

export function createDecryptStream(key: Buffer): Transform {
  assertKey(key);
  let buffered: Buffer = Buffer.alloc(0);
  let header: Buffer | undefined;
  let index = 0;
  let finished = false;

  const openFrames = (push: (plaintext: Buffer) => void): void => {
    if (!header) {
      if (buffered.length < HEADER_BYTES) return;
      header = buffered.subarray(0, HEADER_BYTES);
      if (!header.subarray(0, 8).equals(MAGIC)) {
        throw new Error("not a stowage encrypted backup (bad magic)");
      }
      buffered = buffered.subarray(HEADER_BYTES);
    }
    while (buffered.length >= 4) {
      if (finished) throw new Error("encrypted backup has data after its final frame");
      const field = buffered.subarray(0, 4);
      const raw = field.readUInt32BE(0);
      const final = raw >= FINAL_FLAG;
      const length = final ? raw - FINAL_FLAG : raw;
      if (length > FRAME_PLAINTEXT_BYTES) throw new Error("encrypted backup frame is too long");
      const frameBytes = 4 + length + TAG_BYTES;
      if (buffered.length < frameBytes) return;
      const decipher = createDecipheriv("aes-256-gcm", key, frameIv(header.subarray(8), index++));
      decipher.setAAD(Buffer.concat([header, field]));
      decipher.setAuthTag(buffered.subarray(4 + length, frameBytes));
      const plaintext = Buffer.concat([
        decipher.update(buffered.subarray(4, 4 + length)),
        decipher.final(),
      ]);
      buffered = buffered.subarray(frameBytes);
      finished = final;
      push(plaintext);
    }
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        openFrames((plaintext) => this.push(plaintext));
        callback();
      } catch (error) {
        callback(asDecryptError(error));
      }
    },
    flush(callback) {
      if (!finished || buffered.length > 0) {
        callback(new Error("encrypted backup is truncated"));
        return;
      }
      callback();
    },
  });
}

function asDecryptError(error: unknown): Error {
  const message = String((error as { message?: unknown } | null)?.message ?? error);
  // node:crypto says "Unsupported state or unable to authenticate data" for a bad tag or key.
  if (/authenticate/.test(message)) {
    return new Error("encrypted backup failed authentication (wrong key or altered data)");
  }
  return error instanceof Error ? error : new Error(message);
}
