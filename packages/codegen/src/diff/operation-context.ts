import type { OpenApiDocument } from "../load/openapi-document";
import type { SchemaFinding, SchemaSite } from "./diff-schema";
import type { SchemaComparer } from "./schema-comparer";
import type { Direction, OperationRef, SpecChange } from "./spec-change";

/** What the comparisons of one operation share: both documents, the schema comparer, the output. */
export interface OperationContext {
  base: OpenApiDocument;
  head: OpenApiDocument;
  comparer: SchemaComparer;
  operation: OperationRef;
  report(change: Omit<SpecChange, "operation">): void;
}

/** Compares two schemas of the operation and reports what differs, `where` naming the part. */
export function reportSchemaChanges(
  context: OperationContext,
  base: SchemaSite,
  head: SchemaSite,
  direction: Direction,
  where: string,
  label: string,
): void {
  for (const finding of context.comparer.compare(base, head, direction, label))
    context.report({ ...finding, where } satisfies SchemaFinding & { where: string });
}
