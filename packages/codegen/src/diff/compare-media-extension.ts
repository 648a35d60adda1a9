import type { MediaExtension } from "../load/openapi-document";
import { childPointer } from "./json-pointer";
import type { OperationContext } from "./operation-context";

/**
 * `x-stowage-media` decides what a request without `Accept` gets and what an alias is served as:
 * clients that rely on either get a different document when it changes.
 */
export function compareMediaExtension(
  context: OperationContext,
  before: MediaExtension | undefined,
  after: MediaExtension | undefined,
  operationPointer: string,
): void {
  const pointer = childPointer(operationPointer, "x-stowage-media");
  const where = "x-stowage-media";
  if (before?.default !== undefined && before.default !== after?.default) {
    context.report({
      kind: "breaking",
      rule: "media.default-changed",
      pointer: childPointer(pointer, "default"),
      where,
      reason: `a request without Accept got ${before.default}, now ${after?.default ?? "no declared default"}`,
    });
  }
  const aliasesBefore = before?.aliases ?? {};
  const aliasesAfter = after?.aliases ?? {};
  for (const [alias, target] of Object.entries(aliasesBefore)) {
    const now = aliasesAfter[alias];
    if (now === target) continue;
    context.report({
      kind: "breaking",
      rule: now === undefined ? "media.alias-removed" : "media.alias-changed",
      pointer: childPointer(pointer, "aliases", alias),
      where,
      reason:
        now === undefined
          ? `alias ${alias} (served as ${target}) removed`
          : `alias ${alias} served as ${now} instead of ${target}`,
    });
  }
  for (const [alias, target] of Object.entries(aliasesAfter)) {
    if (alias in aliasesBefore) continue;
    context.report({
      kind: "non-breaking",
      rule: "media.alias-added",
      pointer: childPointer(pointer, "aliases", alias),
      where,
      reason: `alias ${alias} added, served as ${target}`,
    });
  }
}
