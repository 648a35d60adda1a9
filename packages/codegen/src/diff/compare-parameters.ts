import type { OpenApiDocument, ParameterObject } from "../load/openapi-document";
import { resolveLocal } from "../model/refs";
import type { DiffSchema } from "./diff-schema";
import { childPointer, pointerOfRef } from "./json-pointer";
import { reportSchemaChanges, type OperationContext } from "./operation-context";
import { templateParameters } from "./path-version";

type DiffParameter = ParameterObject & { deprecated?: boolean; schema?: DiffSchema };

/** Where the parameters of an operation are written: the path item's, then the operation's. */
export interface ParameterSources {
  template: string;
  pathLevel: ParameterObject[];
  pathPointer: string;
  operationLevel: ParameterObject[];
  operationPointer: string;
}

interface LocatedParameter {
  parameter: DiffParameter;
  pointer: string;
}

/** Parameters are request data: requiring more of the caller breaks them. */
export function compareParameters(
  context: OperationContext,
  base: ParameterSources,
  head: ParameterSources,
): void {
  const before = effectiveParameters(context.base, base);
  const after = effectiveParameters(context.head, head);
  for (const [key, was] of before) {
    const is = after.get(key);
    const name = `${was.parameter.in} parameter \`${was.parameter.name}\``;
    if (!is) {
      context.report({
        kind: "breaking",
        rule: "parameter.removed",
        pointer: was.pointer,
        where: "",
        reason: `${name} removed`,
      });
      continue;
    }
    const where = `${is.parameter.in} parameter ${is.parameter.name}`;
    const requiredBefore = isRequired(was.parameter);
    const requiredAfter = isRequired(is.parameter);
    if (requiredBefore !== requiredAfter) {
      context.report({
        kind: requiredAfter ? "breaking" : "non-breaking",
        rule: requiredAfter ? "parameter.required" : "parameter.optional",
        pointer: is.pointer,
        where,
        reason: `${name} made ${requiredAfter ? "required" : "optional"}`,
      });
    }
    if (was.parameter.deprecated !== true && is.parameter.deprecated === true) {
      context.report({
        kind: "deprecation",
        rule: "parameter.deprecated",
        pointer: is.pointer,
        where,
        reason: `${name} deprecated`,
      });
    }
    if (was.parameter.schema && is.parameter.schema) {
      reportSchemaChanges(
        context,
        { schema: was.parameter.schema, pointer: childPointer(was.pointer, "schema") },
        { schema: is.parameter.schema, pointer: childPointer(is.pointer, "schema") },
        "request",
        where,
        is.parameter.name,
      );
    }
  }
  for (const [key, is] of after) {
    if (before.has(key)) continue;
    const required = isRequired(is.parameter);
    context.report({
      kind: required ? "breaking" : "non-breaking",
      rule: required ? "parameter.added-required" : "parameter.added",
      pointer: is.pointer,
      where: "",
      reason: `${required ? "required " : ""}${is.parameter.in} parameter \`${is.parameter.name}\` added`,
    });
  }
}

/**
 * The parameters in force, keyed so that a renamed path parameter is the same parameter (it is
 * matched by its position in the template; clients fill the path, not the name) and a header's
 * name is case-insensitive.
 */
function effectiveParameters(
  document: OpenApiDocument,
  sources: ParameterSources,
): Map<string, LocatedParameter> {
  const positions = templateParameters(sources.template);
  const found = new Map<string, LocatedParameter>();
  const add = (raw: ParameterObject, pointer: string) => {
    const parameter = resolveLocal<DiffParameter>(document, raw);
    const located = {
      parameter,
      pointer: raw.$ref !== undefined ? pointerOfRef(raw.$ref) : pointer,
    };
    found.set(parameterKey(parameter, positions), located);
  };
  sources.pathLevel.forEach((raw, index) =>
    add(raw, childPointer(sources.pathPointer, "parameters", index)),
  );
  sources.operationLevel.forEach((raw, index) =>
    add(raw, childPointer(sources.operationPointer, "parameters", index)),
  );
  return found;
}

function parameterKey(parameter: ParameterObject, positions: string[]): string {
  if (parameter.in === "path") {
    const position = positions.indexOf(parameter.name);
    return `path:#${position === -1 ? parameter.name : position}`;
  }
  const name = parameter.in === "header" ? parameter.name.toLowerCase() : parameter.name;
  return `${parameter.in}:${name}`;
}

function isRequired(parameter: ParameterObject): boolean {
  return parameter.in === "path" || parameter.required === true;
}
