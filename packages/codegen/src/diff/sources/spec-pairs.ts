import { realpath } from "node:fs/promises";
import path from "node:path";
import { bundleSpec, type BundledSpec } from "../../load/bundle-spec";
import { baselineFile, hasBaseline } from "./baseline";
import type { ConfiguredSpec } from "./configured-specs";
import { existsAtRef, GitResolver, repositoryOf, verifyRef } from "./git-resolver";

/** The two sides of one comparison; bundling starts at once, so several specs load together. */
export interface SpecPair {
  name: string;
  headLabel: string;
  baseLabel: string;
  head: Promise<BundledSpec>;
  /** Absent when there is nothing to compare with yet; `note` says why. */
  base?: Promise<BundledSpec>;
  note?: string;
}

export function filePair(baseFile: string, headFile: string): SpecPair {
  return {
    name: specName(headFile),
    baseLabel: baseFile,
    headLabel: headFile,
    base: bundleSpec(path.resolve(baseFile)),
    head: bundleSpec(path.resolve(headFile)),
  };
}

/** Each spec in the working tree against the same spec at `ref`, external `$ref`s included. */
export async function gitPairs(ref: string, specs: ConfiguredSpec[]): Promise<SpecPair[]> {
  return Promise.all(
    specs.map(async (spec) => {
      const file = await realpath(spec.file);
      const repository = await repositoryOf(file);
      await verifyRef(repository, ref);
      const pair: SpecPair = {
        name: spec.name,
        baseLabel: `${spec.label} at ${ref}`,
        headLabel: spec.label,
        head: bundleSpec(file),
      };
      if (!(await existsAtRef(repository, ref, file)))
        return { ...pair, note: `${spec.label} is new since ${ref}: nothing to compare with` };
      return { ...pair, base: bundleSpec(file, new GitResolver(repository, ref)) };
    }),
  );
}

/** Each spec against its committed baseline; a spec without one yet is reported, not failed. */
export async function baselinePairs(
  root: string,
  dir: string,
  specs: ConfiguredSpec[],
): Promise<SpecPair[]> {
  return Promise.all(
    specs.map(async (spec) => {
      const baseline = baselineFile(root, dir, spec.name);
      const label = path.relative(root, baseline).split(path.sep).join("/");
      const pair: SpecPair = {
        name: spec.name,
        baseLabel: label,
        headLabel: spec.label,
        head: bundleSpec(spec.file),
      };
      if (!(await hasBaseline(baseline)))
        return {
          ...pair,
          note: `no baseline yet (${label}): nothing to compare with; take one with \`stowage-codegen baseline\` at a release`,
        };
      return { ...pair, base: bundleSpec(baseline) };
    }),
  );
}

/** `openapi/agent.yaml` -> `agent`. */
export function specName(file: string): string {
  return path.basename(file).replace(/\.(ya?ml|json)$/i, "");
}
