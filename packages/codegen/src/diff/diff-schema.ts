import type { SchemaObject } from "../load/openapi-document";

/** The schema keywords the diff reads beyond those the generator reads. */
export type DiffSchema = SchemaObject & {
  deprecated?: boolean;
  unevaluatedProperties?: boolean | SchemaObject;
  minProperties?: number;
  maxProperties?: number;
  "x-stowage-item-schema"?: SchemaObject;
};

/** A schema and the JSON pointer where it is written. */
export interface SchemaSite {
  schema: DiffSchema;
  pointer: string;
}

/** A change found inside a schema, before it is attached to an operation. */
export interface SchemaFinding {
  kind: "breaking" | "non-breaking" | "deprecation";
  rule: string;
  pointer: string;
  reason: string;
}
