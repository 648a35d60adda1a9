import type { JsonValue } from "../load/openapi-document";
import { canonicalJson } from "../load/bundle-spec";
import type { DiffSchema, SchemaFinding, SchemaSite } from "./diff-schema";
import { kindOfEffect, type Effect } from "./direction";
import type { Direction } from "./spec-change";

/** Findings of the keywords that constrain one value: type, enum/const, bounds, pattern, format. */
export function compareValueKeywords(
  base: SchemaSite,
  head: SchemaSite,
  direction: Direction,
  label: string,
): SchemaFinding[] {
  const found: SchemaFinding[] = [];
  const add = (effect: Effect, rule: string, reason: string) =>
    found.push({ kind: kindOfEffect(effect, direction), rule, pointer: head.pointer, reason });
  compareTypes(base.schema, head.schema, label, add);
  compareEnums(base.schema, head.schema, label, add);
  compareBounds(base.schema, head.schema, label, add);
  for (const keyword of ["pattern", "format"] as const) {
    const before = base.schema[keyword];
    const after = head.schema[keyword];
    if (before === after) continue;
    const effect: Effect =
      before === undefined ? "narrowed" : after === undefined ? "widened" : "changed";
    add(
      effect,
      `constraint.${effect}`,
      `\`${label}\` ${keyword} ${show(before)} -> ${show(after)}`,
    );
  }
  return found;
}

type Add = (effect: Effect, rule: string, reason: string) => void;

/** JSON types a schema allows; undefined when it does not say (any type). */
function typesOf(schema: DiffSchema): Set<string> | undefined {
  if (schema.type === undefined) {
    if (schema.properties || schema.additionalProperties !== undefined) return new Set(["object"]);
    if (schema.items) return new Set(["array"]);
    return undefined;
  }
  const types = new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
  if (schema.nullable === true) types.add("null");
  return types;
}

function compareTypes(base: DiffSchema, head: DiffSchema, label: string, add: Add): void {
  const before = typesOf(base);
  const after = typesOf(head);
  if (!before && !after) return;
  const describe = (types: Set<string> | undefined) =>
    types ? [...types].join(" | ") : "unconstrained";
  const change = `\`${label}\` type ${describe(before)} -> ${describe(after)}`;
  if (!before) return add("narrowed", "type.narrowed", change);
  if (!after) return add("widened", "type.widened", change);
  // An integer is a number: number -> integer narrows, integer -> number widens.
  const allows = (types: Set<string>, type: string) =>
    types.has(type) || (type === "integer" && types.has("number"));
  const lost = [...before].some((type) => !allows(after, type));
  const gained = [...after].some((type) => !allows(before, type));
  if (lost && gained) add("changed", "type.changed", change);
  else if (lost) add("narrowed", "type.narrowed", change);
  else if (gained) add("widened", "type.widened", change);
}

function enumOf(schema: DiffSchema): JsonValue[] | undefined {
  if (schema.enum) return schema.enum;
  return schema.const === undefined ? undefined : [schema.const];
}

function compareEnums(base: DiffSchema, head: DiffSchema, label: string, add: Add): void {
  const before = enumOf(base);
  const after = enumOf(head);
  if (!before && !after) return;
  if (!before) return add("narrowed", "enum.added", `\`${label}\` restricted to ${list(after)}`);
  if (!after) return add("widened", "enum.removed", `\`${label}\` no longer restricted to values`);
  const keys = (values: JsonValue[]) => new Set(values.map((value) => canonicalJson(value)));
  const beforeKeys = keys(before);
  const afterKeys = keys(after);
  const removed = before.filter((value) => !afterKeys.has(canonicalJson(value)));
  const added = after.filter((value) => !beforeKeys.has(canonicalJson(value)));
  if (removed.length > 0)
    add("narrowed", "enum.value-removed", `\`${label}\` enum value ${list(removed)} removed`);
  if (added.length > 0)
    add("widened", "enum.value-added", `\`${label}\` enum value ${list(added)} added`);
}

/** Upper bounds narrow when lowered, lower bounds when raised; adding a bound narrows. */
const BOUNDS = [
  ["maxLength", "upper"],
  ["maximum", "upper"],
  ["exclusiveMaximum", "upper"],
  ["maxItems", "upper"],
  ["maxProperties", "upper"],
  ["minLength", "lower"],
  ["minimum", "lower"],
  ["exclusiveMinimum", "lower"],
  ["minItems", "lower"],
  ["minProperties", "lower"],
] as const;

function compareBounds(base: DiffSchema, head: DiffSchema, label: string, add: Add): void {
  for (const [keyword, side] of BOUNDS) {
    const before = base[keyword];
    const after = head[keyword];
    if (before === after) continue;
    // OpenAPI 3.0's boolean exclusiveMinimum/Maximum modify minimum/maximum: a flip is a change.
    if (typeof before === "boolean" || typeof after === "boolean") {
      add(
        "changed",
        "constraint.changed",
        `\`${label}\` ${keyword} ${show(before)} -> ${show(after)}`,
      );
      continue;
    }
    let effect: Effect;
    if (before === undefined) effect = "narrowed";
    else if (after === undefined) effect = "widened";
    else effect = after < before === (side === "upper") ? "narrowed" : "widened";
    add(
      effect,
      `constraint.${effect}`,
      `\`${label}\` ${keyword} ${show(before)} -> ${show(after)}`,
    );
  }
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? "(none)" : JSON.stringify(value);
}

function list(values: JsonValue[] | undefined): string {
  return (values ?? []).map((value) => `\`${JSON.stringify(value)}\``).join(", ");
}
