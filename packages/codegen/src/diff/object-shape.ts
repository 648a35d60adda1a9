import type { OpenApiDocument } from "../load/openapi-document";
import { resolveLocal } from "../model/refs";
import type { DiffSchema, SchemaSite } from "./diff-schema";
import { childPointer, pointerOfRef } from "./json-pointer";

/** The properties an object schema declares, its own and those of its `allOf` members. */
export interface ObjectShape {
  properties: Map<string, SchemaSite>;
  required: Set<string>;
  /** `additionalProperties: false` or `unevaluatedProperties: false`: no other property is valid. */
  closed: boolean;
  additional?: SchemaSite;
}

export function objectShape(document: OpenApiDocument, site: SchemaSite): ObjectShape {
  const shape: ObjectShape = { properties: new Map(), required: new Set(), closed: false };
  collect(document, site, shape, new Set());
  return shape;
}

function collect(
  document: OpenApiDocument,
  { schema, pointer }: SchemaSite,
  shape: ObjectShape,
  seen: Set<string>,
): void {
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (!shape.properties.has(name))
      shape.properties.set(name, {
        schema: property,
        pointer: childPointer(pointer, "properties", name),
      });
  }
  for (const name of schema.required ?? []) shape.required.add(name);
  if (schema.additionalProperties === false || schema.unevaluatedProperties === false)
    shape.closed = true;
  if (typeof schema.additionalProperties === "object")
    shape.additional = {
      schema: schema.additionalProperties,
      pointer: childPointer(pointer, "additionalProperties"),
    };
  for (const [index, member] of (schema.allOf ?? []).entries()) {
    // A cycle through allOf describes no finite object; the first visit already collected it.
    if (member.$ref !== undefined) {
      if (seen.has(member.$ref)) continue;
      seen.add(member.$ref);
    }
    const resolved = resolveLocal<DiffSchema>(document, member);
    const memberPointer =
      member.$ref !== undefined ? pointerOfRef(member.$ref) : childPointer(pointer, "allOf", index);
    collect(document, { schema: resolved, pointer: memberPointer }, shape, seen);
  }
}

export function isObjectLike(schema: DiffSchema): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return (
    types.includes("object") ||
    schema.properties !== undefined ||
    schema.allOf !== undefined ||
    schema.additionalProperties !== undefined
  );
}
