import type { ResponseObject } from "../load/openapi-document";
import { resolveLocal } from "../model/refs";
import { compareContent } from "./compare-content";
import type { DiffSchema } from "./diff-schema";
import { childPointer } from "./json-pointer";
import { located, type Located } from "./located";
import { reportSchemaChanges, type OperationContext } from "./operation-context";

/** Responses by status: their headers and media types, judged as data clients read. */
export function compareResponses(
  context: OperationContext,
  before: Record<string, ResponseObject>,
  basePointer: string,
  after: Record<string, ResponseObject>,
  pointer: string,
): void {
  for (const [status, rawWas] of Object.entries(before)) {
    const rawIs = after[status];
    if (!rawIs) {
      context.report({
        kind: "breaking",
        rule: "response.removed",
        pointer: childPointer(basePointer, status),
        where: "",
        reason: `response ${status} removed: clients handling it may get a status they do not expect`,
      });
      continue;
    }
    const was = located(context.base, rawWas, childPointer(basePointer, status));
    const is = located(context.head, rawIs, childPointer(pointer, status));
    const where = `response ${status}`;
    compareHeaders(context, was, is, where);
    compareContent(
      context,
      { content: was.value.content ?? {}, pointer: childPointer(was.pointer, "content") },
      { content: is.value.content ?? {}, pointer: childPointer(is.pointer, "content") },
      "response",
      where,
    );
  }
  for (const status of Object.keys(after)) {
    if (status in before) continue;
    context.report({
      kind: "non-breaking",
      rule: "response.added",
      pointer: childPointer(pointer, status),
      where: "",
      reason: `response ${status} added`,
    });
  }
}

function compareHeaders(
  context: OperationContext,
  was: Located<ResponseObject>,
  is: Located<ResponseObject>,
  where: string,
): void {
  const before = was.value.headers ?? {};
  const after = is.value.headers ?? {};
  const lower = (headers: Record<string, unknown>) =>
    new Map(Object.keys(headers).map((name) => [name.toLowerCase(), name]));
  const afterNames = lower(after);
  const beforeNames = lower(before);
  for (const [key, name] of beforeNames) {
    const headPointer = childPointer(is.pointer, "headers", afterNames.get(key) ?? name);
    const basePointer = childPointer(was.pointer, "headers", name);
    const match = afterNames.get(key);
    if (match === undefined) {
      context.report({
        kind: "breaking",
        rule: "header.removed",
        pointer: basePointer,
        where,
        reason: `response header ${name} removed`,
      });
      continue;
    }
    const header = resolveLocal<{ schema?: DiffSchema }>(context.base, before[name]);
    const next = resolveLocal<{ schema?: DiffSchema }>(context.head, after[match]);
    if (header.schema && next.schema)
      reportSchemaChanges(
        context,
        { schema: header.schema, pointer: childPointer(basePointer, "schema") },
        { schema: next.schema, pointer: childPointer(headPointer, "schema") },
        "response",
        `${where} header ${match}`,
        match,
      );
  }
  for (const [key, name] of afterNames) {
    if (beforeNames.has(key)) continue;
    context.report({
      kind: "non-breaking",
      rule: "header.added",
      pointer: childPointer(is.pointer, "headers", name),
      where,
      reason: `response header ${name} added`,
    });
  }
}
