import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { format } from "prettier";
import { stringify } from "yaml";
import { bundleSpec } from "../../load/bundle-spec";
import type { ConfiguredSpec } from "./configured-specs";

export function baselineFile(root: string, dir: string, name: string): string {
  return path.resolve(root, dir, `${name}.yaml`);
}

export async function hasBaseline(file: string): Promise<boolean> {
  return stat(file).then(
    (info) => info.isFile(),
    () => false,
  );
}

/**
 * Writes each spec's bundle (external `$ref`s inlined) as the baseline: one self-contained file
 * per spec, so the gate keeps comparing with exactly what was released even after the shared
 * files it referenced change.
 */
export async function takeBaselines(
  root: string,
  dir: string,
  specs: ConfiguredSpec[],
): Promise<string[]> {
  await mkdir(path.resolve(root, dir), { recursive: true });
  return Promise.all(
    specs.map(async (spec) => {
      const { document } = await bundleSpec(spec.file);
      const file = baselineFile(root, dir, spec.name);
      const header = [
        `# Baseline of ${spec.label}, taken by \`stowage-codegen baseline\` at a release.`,
        "# The breaking-change gate (`npm run check:breaking`) compares the spec with it. Do not edit.",
      ].join("\n");
      const yaml = await format(`${header}\n${stringify(document, { lineWidth: 0 })}`, {
        parser: "yaml",
        printWidth: 100,
      });
      await writeFile(file, yaml);
      return file;
    }),
  );
}
