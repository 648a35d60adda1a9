import type { RequestBodyObject } from "../load/openapi-document";
import { compareContent } from "./compare-content";
import { childPointer } from "./json-pointer";
import { located } from "./located";
import type { OperationContext } from "./operation-context";

/** A request body is request data: requiring it, or removing what clients send, breaks them. */
export function compareRequestBody(
  context: OperationContext,
  rawBefore: RequestBodyObject | undefined,
  basePointer: string,
  rawAfter: RequestBodyObject | undefined,
  pointer: string,
): void {
  if (!rawBefore && !rawAfter) return;
  const where = "request body";
  if (!rawAfter) {
    context.report({
      kind: "breaking",
      rule: "request-body.removed",
      pointer: basePointer,
      where,
      reason: "request body removed",
    });
    return;
  }
  const after = located(context.head, rawAfter, pointer);
  if (!rawBefore) {
    const required = after.value.required === true;
    context.report({
      kind: required ? "breaking" : "non-breaking",
      rule: required ? "request-body.added-required" : "request-body.added",
      pointer: after.pointer,
      where,
      reason: `${required ? "required " : "optional "}request body added`,
    });
    return;
  }
  const before = located(context.base, rawBefore, basePointer);
  const requiredBefore = before.value.required === true;
  const requiredAfter = after.value.required === true;
  if (requiredBefore !== requiredAfter) {
    context.report({
      kind: requiredAfter ? "breaking" : "non-breaking",
      rule: requiredAfter ? "request-body.required" : "request-body.optional",
      pointer: after.pointer,
      where,
      reason: `request body made ${requiredAfter ? "required" : "optional"}`,
    });
  }
  compareContent(
    context,
    { content: before.value.content ?? {}, pointer: childPointer(before.pointer, "content") },
    { content: after.value.content ?? {}, pointer: childPointer(after.pointer, "content") },
    "request",
    where,
  );
}
