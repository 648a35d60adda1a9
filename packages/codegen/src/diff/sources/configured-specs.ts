import path from "node:path";
import { loadConfig } from "../../config";

/** A spec of the config, once: the config may list one spec for several output folders. */
export interface ConfiguredSpec {
  name: string;
  /** Absolute path of the entry file. */
  file: string;
  /** As the config writes it, relative to the project root. */
  label: string;
}

export async function configuredSpecs(
  configFile: string,
  only: string | undefined,
): Promise<{ root: string; specs: ConfiguredSpec[] }> {
  const config = await loadConfig(configFile);
  const byName = new Map<string, ConfiguredSpec>();
  for (const entry of config.specs) {
    const spec = {
      name: entry.name,
      file: path.resolve(config.root, entry.spec),
      label: entry.spec,
    };
    const known = byName.get(entry.name);
    if (known && known.file !== spec.file)
      throw new Error(
        `${configFile}: the name ${entry.name} is used for ${known.label} and ${spec.label}`,
      );
    byName.set(entry.name, spec);
  }
  const specs = [...byName.values()].filter((spec) => only === undefined || spec.name === only);
  if (only !== undefined && specs.length === 0)
    throw new Error(`${configFile} lists no spec named ${only} (${[...byName.keys()].join(", ")})`);
  return { root: config.root, specs };
}
