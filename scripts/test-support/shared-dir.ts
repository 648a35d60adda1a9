import { existsSync } from "node:fs";
import path from "node:path";

/**
 * `../shared/` sits beside the repository on developer machines and in CI; a plain clone
 * elsewhere has none. Under CI its absence is a failure, otherwise the caller skips.
 */
export const sharedDir = path.resolve(__dirname, "..", "..", "..", "shared");

export function sharedAvailable(what: string): boolean {
  if (existsSync(sharedDir)) return true;
  const message = `${sharedDir} is missing, so ${what} cannot run`;
  if (process.env.CI === "true") throw new Error(`${message} (CI=true requires it)`);
  console.warn(`skipping: ${message}`);
  return false;
}

export function describeWithShared(what: string, body: () => void): void {
  (sharedAvailable(what) ? describe : describe.skip)(what, body);
}
