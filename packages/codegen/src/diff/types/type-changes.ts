import type { OperationMembers } from "./type-members";

export interface TypeMember {
  member: string;
  type: string;
}

export interface ChangedTypeMember {
  member: string;
  before: string;
  after: string;
}

/** What changed in one operation's generated type. */
export interface OperationTypeChanges {
  operationId: string;
  /** `added`/`removed` when the whole operation is new or gone, else `changed`. */
  status: "added" | "removed" | "changed";
  added: TypeMember[];
  removed: TypeMember[];
  changed: ChangedTypeMember[];
}

/**
 * Compares the flattened members per operation. A member added or removed with its parent is not
 * listed again: the parent line says it, and a new object does not bury the report in its leaves.
 */
export function compareOperationTypes(
  base: OperationMembers,
  head: OperationMembers,
): OperationTypeChanges[] {
  const ids = [...new Set([...head.keys(), ...base.keys()])];
  const changes: OperationTypeChanges[] = [];
  for (const operationId of ids) {
    const before = base.get(operationId);
    const after = head.get(operationId);
    if (!before || !after) {
      changes.push({
        operationId,
        status: before ? "removed" : "added",
        added: [],
        removed: [],
        changed: [],
      });
      continue;
    }
    const added = outermost(after, before);
    const removed = outermost(before, after);
    const changed: ChangedTypeMember[] = [];
    for (const [member, type] of after) {
      const previous = before.get(member);
      if (previous !== undefined && previous !== type)
        changed.push({ member, before: previous, after: type });
    }
    if (added.length + removed.length + changed.length > 0)
      changes.push({ operationId, status: "changed", added, removed, changed });
  }
  return changes;
}

/** Members of `side` missing from `other`, without those whose parent is missing too. */
function outermost(side: Map<string, string>, other: Map<string, string>): TypeMember[] {
  const missing = [...side.keys()].filter((member) => !other.has(member));
  const missingSet = new Set(missing);
  return missing
    .filter((member) => !ancestors(member).some((ancestor) => missingSet.has(ancestor)))
    .map((member) => ({ member, type: side.get(member) ?? "" }));
}

/** `a.b[].c` -> `a`, `a.b`, `a.b[]`; segments open at `.`, `[` and `|`. */
function ancestors(member: string): string[] {
  const found: string[] = [];
  let depth = 0;
  let quoted = false;
  for (let index = 1; index < member.length; index++) {
    const char = member[index];
    if (char === '"' && member[index - 1] !== "\\") quoted = !quoted;
    if (quoted) continue;
    if (char === "[") depth++;
    if (char === "]") depth--;
    if (
      (char === "." || char === "|" || char === "[") &&
      (depth === 0 || (char === "[" && depth === 1))
    )
      found.push(member.slice(0, index));
  }
  return found;
}
