import { readFile, stat } from "node:fs/promises";
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
  const root = path.dirname(absolute);
  rejectSharedFolders(file, root, specs as SpecEntry[]);
  return { root, specs: specs as SpecEntry[] };
}

/**
 * Each folder belongs to one entry: generate removes what its entry does not generate there, so
 * two entries in one folder would delete each other's files (or fight over `types.ts`). One spec
 * may still be listed twice under the same name, for two different folders.
 */
function rejectSharedFolders(file: string, root: string, specs: SpecEntry[]): void {
  const owners = new Map<string, { index: number; slot: string }>();
  for (const [index, entry] of specs.entries()) {
    for (const slot of ["client", "server"] as const) {
      const folder = entry[slot];
      if (folder === undefined) continue;
      const resolved = path.resolve(root, folder);
      const owner = owners.get(resolved);
      if (!owner) {
        owners.set(resolved, { index, slot });
      } else if (owner.index !== index) {
        throw new Error(
          `${file}: specs[${owner.index}].${owner.slot} (${specs[owner.index].name}) and ` +
            `specs[${index}].${slot} (${entry.name}) both write to ${folder}; ` +
            "give each entry its own folders",
        );
      }
    }
  }
}

/**
 * How generated headers name `spec`: relative to the folder of the nearest config file above
 * `outDir` (the project root `check` labels from), or else to the working directory. So
 * `generate --spec` and `scaffold` write what `check` expects, wherever they are run from.
 */
export async function specLabelFor(spec: string, outDir: string): Promise<string> {
  const root = (await findConfigDir(path.resolve(outDir))) ?? process.cwd();
  // Forward slashes, as in the config file, whatever the platform.
  return path.relative(root, path.resolve(spec)).split(path.sep).join("/");
}

async function findConfigDir(from: string): Promise<string | undefined> {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const found = await stat(path.join(dir, DEFAULT_CONFIG_FILE)).then(
      (info) => info.isFile(),
      () => false,
    );
    if (found) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
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
