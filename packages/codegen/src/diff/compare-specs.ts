import { HTTP_METHODS, type OpenApiDocument, type PathItemObject } from "../load/openapi-document";
import { compareOperation, operationPointer, type OperationSite } from "./compare-operation";
import { childPointer } from "./json-pointer";
import type { OperationContext } from "./operation-context";
import {
  normalizedTemplate,
  pathVersion,
  templateParameters,
  unversionedTemplate,
} from "./path-version";
import { SchemaComparer } from "./schema-comparer";
import type { OperationRef, SpecChange } from "./spec-change";

/** Every change from `base` to `head` (both bundled), classified, in document order of `head`. */
export function compareSpecs(base: OpenApiDocument, head: OpenApiDocument): SpecChange[] {
  const changes: SpecChange[] = [];
  const seen = new Set<string>();
  const comparer = new SchemaComparer(base, head);
  const contextFor = (operation: OperationRef): OperationContext => ({
    base,
    head,
    comparer,
    operation,
    report(change) {
      // A schema reached twice in one operation (two media types, a recursive property) counts once.
      const key = [operation.method, operation.path, change.kind, change.rule, change.pointer].join(
        "\0",
      );
      if (seen.has(key)) return;
      seen.add(key);
      changes.push({ ...change, operation });
    },
  });
  const basePaths = indexPaths(base);
  const headPaths = indexPaths(head);
  const baseVersions = new Set(
    [...basePaths.values()].map(({ template }) => unversionedTemplate(template)),
  );
  const headVersions = new Set(
    [...headPaths.values()].map(({ template }) => unversionedTemplate(template)),
  );

  for (const [key, was] of basePaths) {
    if (headPaths.has(key)) continue;
    const family = unversionedTemplate(was.template);
    const versionRemoved = family !== undefined && headVersions.has(family);
    for (const site of operationsOf(was.template, was.item)) {
      contextFor(refOf(site)).report({
        kind: "breaking",
        rule: versionRemoved ? "path.version-removed" : "path.removed",
        pointer: operationPointer(site),
        where: "",
        reason: versionRemoved
          ? `${pathVersion(was.template)} of ${was.template} removed while another version remains`
          : `path ${was.template} removed`,
      });
    }
  }
  for (const [key, is] of headPaths) {
    const was = basePaths.get(key);
    if (!was) {
      const family = unversionedTemplate(is.template);
      const newVersion = family !== undefined && baseVersions.has(family);
      for (const site of operationsOf(is.template, is.item)) {
        contextFor(refOf(site)).report({
          kind: "non-breaking",
          rule: newVersion ? "path.version-added" : "path.added",
          pointer: operationPointer(site),
          where: "",
          reason: newVersion
            ? `new API version ${pathVersion(is.template)}: ${is.template} beside the existing version`
            : `path ${is.template} added`,
        });
      }
      continue;
    }
    compareMethods(contextFor, was, is);
  }
  return changes;
}

interface IndexedPath {
  template: string;
  item: PathItemObject;
}

function indexPaths(document: OpenApiDocument): Map<string, IndexedPath> {
  const index = new Map<string, IndexedPath>();
  for (const [template, item] of Object.entries(document.paths ?? {}))
    index.set(normalizedTemplate(template), { template, item });
  return index;
}

function operationsOf(template: string, item: PathItemObject): OperationSite[] {
  return HTTP_METHODS.flatMap((method) => {
    const operation = item[method];
    return operation ? [{ template, method, item, operation }] : [];
  });
}

function refOf(site: OperationSite): OperationRef {
  return {
    ...(site.operation.operationId !== undefined
      ? { operationId: site.operation.operationId }
      : {}),
    method: site.method.toUpperCase(),
    path: site.template,
  };
}

function compareMethods(
  contextFor: (operation: OperationRef) => OperationContext,
  was: IndexedPath,
  is: IndexedPath,
): void {
  const before = new Map(operationsOf(was.template, was.item).map((site) => [site.method, site]));
  const renamed = was.template !== is.template;
  for (const site of operationsOf(is.template, is.item)) {
    const context = contextFor(refOf(site));
    const previous = before.get(site.method);
    before.delete(site.method);
    if (!previous) {
      context.report({
        kind: "non-breaking",
        rule: "operation.added",
        pointer: operationPointer(site),
        where: "",
        reason: `${site.method.toUpperCase()} ${is.template} added`,
      });
      continue;
    }
    if (renamed) {
      context.report({
        kind: "non-breaking",
        rule: "path.parameter-renamed",
        pointer: childPointer("", "paths", is.template),
        where: "",
        reason: `path parameters renamed (${templateParameters(was.template).join(", ")} -> ${templateParameters(is.template).join(", ")}): the URL clients send is the same`,
      });
    }
    compareOperation(context, previous, site);
  }
  for (const site of before.values()) {
    contextFor(refOf(site)).report({
      kind: "breaking",
      rule: "operation.removed",
      pointer: operationPointer(site),
      where: "",
      reason: `${site.method.toUpperCase()} ${was.template} removed`,
    });
  }
}
