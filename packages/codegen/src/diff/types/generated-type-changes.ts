import type { BundledSpec } from "../../load/bundle-spec";
import { emitTypes } from "../../emit/typescript-types";
import { buildModel } from "../../model/build-model";
import { compareOperationTypes, type OperationTypeChanges } from "./type-changes";
import { operationMembers } from "./type-members";

/**
 * Generates `types.ts` for both sides with the generator's own openapi-typescript emit and
 * compares each operation's members, so the report shows what `generate` would change in the
 * typed client and handlers. Loads openapi-typescript: CLI only (jest cannot load its ESM deps).
 */
export async function generatedTypeChanges(
  name: string,
  base: BundledSpec,
  head: BundledSpec,
): Promise<OperationTypeChanges[]> {
  // The same canonical bundle generates the same types.
  if (base.sha256 === head.sha256) return [];
  const [before, after] = await Promise.all([base, head].map((side) => membersOf(name, side)));
  return compareOperationTypes(before, after);
}

async function membersOf(name: string, spec: BundledSpec) {
  const model = buildModel({ name, specLabel: name, sha256: spec.sha256, document: spec.document });
  return operationMembers((await emitTypes(model)).source);
}
