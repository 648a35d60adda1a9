import type { OperationObject, PathItemObject } from "../load/openapi-document";
import { compareMediaExtension } from "./compare-media-extension";
import { compareParameters, type ParameterSources } from "./compare-parameters";
import { compareSecurity } from "./compare-security";
import { compareRequestBody } from "./compare-request-body";
import { compareResponses } from "./compare-responses";
import { childPointer } from "./json-pointer";
import type { OperationContext } from "./operation-context";

/** One side of an operation: where it is, and the path item it belongs to. */
export interface OperationSite {
  template: string;
  method: string;
  item: PathItemObject;
  operation: OperationObject & { deprecated?: boolean };
}

export function compareOperation(
  context: OperationContext,
  base: OperationSite,
  head: OperationSite,
): void {
  const basePointer = operationPointer(base);
  const pointer = operationPointer(head);
  const was = base.operation;
  const is = head.operation;
  if (was.operationId !== is.operationId) {
    context.report({
      kind: "breaking",
      rule: "operation.id-changed",
      pointer: childPointer(pointer, "operationId"),
      where: "",
      reason: `operationId ${String(was.operationId)} -> ${String(is.operationId)}: generated client methods and handler names change`,
    });
  }
  if (was.deprecated !== true && is.deprecated === true) {
    context.report({
      kind: "deprecation",
      rule: "operation.deprecated",
      pointer,
      where: "",
      reason: "operation deprecated",
    });
  }
  compareVerb(context, was["x-stowage-verb"], is["x-stowage-verb"], pointer);
  for (const finding of compareSecurity(
    was.security ?? context.base.security ?? [],
    is.security ?? context.head.security ?? [],
  )) {
    context.report({ ...finding, pointer: childPointer(pointer, "security"), where: "" });
  }
  compareMediaExtension(context, was["x-stowage-media"], is["x-stowage-media"], pointer);
  compareParameters(context, parameterSources(base), parameterSources(head));
  compareRequestBody(
    context,
    was.requestBody,
    childPointer(basePointer, "requestBody"),
    is.requestBody,
    childPointer(pointer, "requestBody"),
  );
  compareResponses(
    context,
    was.responses ?? {},
    childPointer(basePointer, "responses"),
    is.responses ?? {},
    childPointer(pointer, "responses"),
  );
}

export function operationPointer(site: Pick<OperationSite, "template" | "method">): string {
  return childPointer("", "paths", site.template, site.method);
}

function parameterSources(site: OperationSite): ParameterSources {
  return {
    template: site.template,
    pathLevel: site.item.parameters ?? [],
    pathPointer: childPointer("", "paths", site.template),
    operationLevel: site.operation.parameters ?? [],
    operationPointer: operationPointer(site),
  };
}

/** The verb is a permission: any change is reported, and requiring one (or another) breaks callers. */
function compareVerb(
  context: OperationContext,
  before: string | undefined,
  after: string | undefined,
  pointer: string,
): void {
  if (before === after) return;
  const at = childPointer(pointer, "x-stowage-verb");
  if (before === undefined) {
    context.report({
      kind: "breaking",
      rule: "verb.added",
      pointer: at,
      where: "",
      reason: `now requires the verb ${String(after)}`,
    });
  } else if (after === undefined) {
    context.report({
      kind: "non-breaking",
      rule: "verb.removed",
      pointer: at,
      where: "",
      reason: `no longer requires the verb ${before}`,
    });
  } else {
    context.report({
      kind: "breaking",
      rule: "verb.changed",
      pointer: at,
      where: "",
      reason: `verb ${before} -> ${after}: tokens granted only ${before} are now refused`,
    });
  }
}
