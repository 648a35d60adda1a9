import { readFile } from "node:fs/promises";
import { KEY_BYTES } from "./encrypt-stream";

/**
 * Reads the 32-byte key a `key_ref` names: `file:/abs/path` (32 raw bytes, or 64 hex digits or
 * base64 text) or `env:NAME` (hex or base64). The config document carries only the reference, so
 * the key never travels through the controller.
 */
export async function readEncryptionKey(
  keyRef: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Buffer> {
  if (keyRef.startsWith("file:")) {
    const raw = await readFile(keyRef.slice("file:".length));
    return raw.length === KEY_BYTES ? raw : decodeKeyText(raw.toString("utf8"), keyRef);
  }
  if (keyRef.startsWith("env:")) {
    const value = env[keyRef.slice("env:".length)];
    if (value === undefined) throw new Error(`encryption key ${keyRef} is not set`);
    return decodeKeyText(value, keyRef);
  }
  throw new Error(`unsupported key_ref ${keyRef}: use file:/path or env:NAME`);
}

function decodeKeyText(text: string, keyRef: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, "hex")
    : Buffer.from(trimmed, "base64");
  if (key.length !== KEY_BYTES) {
    throw new Error(`encryption key ${keyRef} is not ${KEY_BYTES} bytes (raw, hex or base64)`);
  }
  return key;
}
