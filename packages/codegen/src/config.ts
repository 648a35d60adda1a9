import { readFile } from "node:fs/promises";
import path from "node:path";

/** One spec and where its generated code goes (folders relative to the config file). */
export interface SpecEntry {
  name: string;
  spec: string;
  /** `src/generated/` of the client package: types, schemas, operations, client. */
  client?: string;
  /** `src/generated/` of the server package: types, schemas, operations, spec, handlers, router. */
  server?: string;
}

export interface CodegenConfig {
  root: string;
  specs: SpecEntry[];
}

export const DEFAULT_CONFIG_FILE = "stowage.config.json";

export async function loadConfig(file: string): Promise<CodegenConfig> {
  const absolute = path.resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(absolute, "utf8"));
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  const specs = (raw as { specs?: unknown }).specs;
  if (!Array.isArray(specs) || specs.some((entry) => !isSpecEntry(entry))) {
    throw new Error(`${file}: expected { "specs": [{ "name", "spec", "client"?, "server"? }] }`);
  }
  return { root: path.dirname(absolute), specs: specs as SpecEntry[] };
}

function isSpecEntry(value: unknown): value is SpecEntry {
  if (!value || typeof value !== "object") return false;
  const entry = value as Record<string, unknown>;
  const optionalString = (key: string) =>
    entry[key] === undefined || typeof entry[key] === "string";
  return (
    typeof entry.name === "string" &&
    /^[a-z][a-z0-9-]*$/.test(entry.name) &&
    typeof entry.spec === "string" &&
    optionalString("client") &&
    optionalString("server")
  );
}
