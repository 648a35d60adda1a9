import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createDecryptStream, createEncryptStream } from "../src/crypto/encrypt-stream";

async function run(input: Buffer, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  // Odd-sized chunks, so frames straddle the writes.
  const pieces = [];
  for (let offset = 0; offset < input.length; offset += 10_007) {
    pieces.push(input.subarray(offset, offset + 10_007));
  }
  await pipeline([Readable.from(pieces), ...stages, sink]);
  return Buffer.concat(chunks);
}

describe("encrypted backup format", () => {
  const key = randomBytes(32);

  it.each([0, 1, 65_536, 65_537, 200_000])("round-trips %i bytes", async (size) => {
    const plaintext = randomBytes(size);
    const sealed = await run(plaintext, createEncryptStream(key));
    expect(sealed.subarray(0, 8).toString("ascii")).toBe("STWGCM01");
    expect(await run(sealed, createDecryptStream(key))).toEqual(plaintext);
  });

  it("refuses a wrong key", async () => {
    const sealed = await run(randomBytes(1000), createEncryptStream(key));
    await expect(run(sealed, createDecryptStream(randomBytes(32)))).rejects.toThrow(
      /failed authentication/,
    );
  });

  it("refuses an altered byte", async () => {
    const sealed = await run(randomBytes(100_000), createEncryptStream(key));
    sealed[sealed.length - 40] ^= 1;
    await expect(run(sealed, createDecryptStream(key))).rejects.toThrow(/failed authentication/);
  });

  it("refuses a stream cut after a whole frame", async () => {
    const sealed = await run(randomBytes(100_000), createEncryptStream(key));
    // header (16) + first frame (4 + 65536 + 16): a valid prefix without the final frame.
    const cut = sealed.subarray(0, 16 + 4 + 65_536 + 16);
    await expect(run(cut, createDecryptStream(key))).rejects.toThrow(/truncated/);
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => createEncryptStream(randomBytes(16))).toThrow(/32 bytes/);
  });
});
