import type { SecurityRequirement } from "../load/openapi-document";
import type { SpecChange } from "./spec-change";

type Finding = Pick<SpecChange, "kind" | "rule" | "reason">;

/**
 * A security list is a choice of requirements, each requiring all its schemes (and scopes). A
 * caller who satisfied a base requirement still gets in when some head requirement asks no more
 * of them; when none does, a requirement was added. A head requirement that asks less than every
 * base one lets new callers in: relaxed, not breaking.
 */
export function compareSecurity(
  base: SecurityRequirement[],
  head: SecurityRequirement[],
): Finding[] {
  const before = alternatives(base);
  const after = alternatives(head);
  const findings: Finding[] = [];
  for (const requirement of before) {
    if (after.some((candidate) => isSubset(candidate, requirement))) continue;
    findings.push({
      kind: "breaking",
      rule: "security.added",
      reason: `callers authorized by ${describe(requirement)} now need ${after.map(describe).join(" or ")}`,
    });
  }
  for (const requirement of after) {
    if (before.some((candidate) => isSubset(candidate, requirement))) continue;
    findings.push({
      kind: "non-breaking",
      rule: "security.relaxed",
      reason: `${describe(requirement)} is now accepted`,
    });
  }
  return findings;
}

/** Each requirement as the set of what it demands: `scheme` and `scheme:scope`. */
function alternatives(requirements: SecurityRequirement[]): Set<string>[] {
  // No requirement at all is one empty requirement: anyone gets in.
  const list = requirements.length === 0 ? [{}] : requirements;
  return list.map(
    (requirement) =>
      new Set(
        Object.entries(requirement).flatMap(([scheme, scopes]) => [
          scheme,
          ...scopes.map((scope) => `${scheme}:${scope}`),
        ]),
      ),
  );
}

function isSubset(small: Set<string>, large: Set<string>): boolean {
  return [...small].every((item) => large.has(item));
}

function describe(requirement: Set<string>): string {
  return requirement.size === 0 ? "no credentials" : [...requirement].sort().join(" + ");
}
