import type { BundledSpec } from "../load/bundle-spec";
import { compareSpecs } from "./compare-specs";
import type { SpecReport } from "./report/spec-report";
import type { SpecPair } from "./sources/spec-pairs";
import { generatedTypeChanges } from "./types/generated-type-changes";

/** Compares each pair (concurrently) and, unless `types` is false, their generated types. */
export async function diffPairs(
  pairs: SpecPair[],
  options: { types: boolean },
): Promise<SpecReport[]> {
  return Promise.all(pairs.map((pair) => diffPair(pair, options)));
}

async function diffPair(pair: SpecPair, { types }: { types: boolean }): Promise<SpecReport> {
  const report = { name: pair.name, baseLabel: pair.baseLabel, headLabel: pair.headLabel };
  const head = await pair.head;
  if (!pair.base) return { ...report, note: pair.note, changes: [] };
  const base = await pair.base;
  return {
    ...report,
    changes: compareSpecs(base.document, head.document),
    ...(types ? { types: await typeChanges(pair, base, head) } : {}),
  };
}

async function typeChanges(pair: SpecPair, base: BundledSpec, head: BundledSpec) {
  try {
    return await generatedTypeChanges(pair.name, base, head);
  } catch (error) {
    // The generator's own rules (an operationId on every operation) apply to the types part only.
    throw new Error(
      `${pair.headLabel}: cannot generate types to compare (${(error as Error).message}); pass --no-types`,
    );
  }
}
