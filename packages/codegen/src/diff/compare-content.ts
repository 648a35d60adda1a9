import type { MediaTypeObject } from "../load/openapi-document";
import type { DiffSchema } from "./diff-schema";
import { childPointer } from "./json-pointer";
import { mediaVersion, versionsOf } from "./media-version";
import { reportSchemaChanges, type OperationContext } from "./operation-context";
import type { Direction } from "./spec-change";

export interface ContentSite {
  content: Record<string, MediaTypeObject>;
  /** Pointer of the `content` object. */
  pointer: string;
}

/**
 * Media types of a request body or a response, each compared on its own: so a breaking edit of
 * an existing version of a vendor type is breaking, while the same edit shipped as a new version
 * beside the old one is an added media type, and removing a version removes what clients ask for.
 */
export function compareContent(
  context: OperationContext,
  base: ContentSite,
  head: ContentSite,
  direction: Direction,
  where: string,
): void {
  const consequence =
    direction === "request" ? "clients sending it get 415" : "clients asking for it get 406";
  for (const [type, media] of Object.entries(base.content)) {
    const match = head.content[type];
    const pointer = childPointer(base.pointer, type);
    if (match) {
      compareMedia(
        context,
        media,
        pointer,
        match,
        childPointer(head.pointer, type),
        direction,
        `${where} ${type}`,
      );
      continue;
    }
    const version = mediaVersion(type);
    const remaining = version ? versionsOf(version.family, Object.keys(head.content)) : [];
    if (version && remaining.length > 0) {
      context.report({
        kind: "breaking",
        rule: "media.version-removed",
        pointer,
        where,
        reason: `version v${version.version} of ${version.family} removed (${remaining.join(", ")} remain): ${consequence}`,
      });
    } else {
      context.report({
        kind: "breaking",
        rule: "media.removed",
        pointer,
        where,
        reason: `${type} removed: ${consequence}`,
      });
    }
  }
  for (const type of Object.keys(head.content)) {
    if (type in base.content) continue;
    const pointer = childPointer(head.pointer, type);
    const version = mediaVersion(type);
    const existing = version ? versionsOf(version.family, Object.keys(base.content)) : [];
    if (version && existing.length > 0) {
      context.report({
        kind: "non-breaking",
        rule: "media.version-added",
        pointer,
        where,
        reason: `new version v${version.version} of ${version.family} beside ${existing.join(", ")}`,
      });
    } else {
      context.report({
        kind: "non-breaking",
        rule: "media.added",
        pointer,
        where,
        reason: `${type} added`,
      });
    }
  }
}

function compareMedia(
  context: OperationContext,
  base: MediaTypeObject,
  basePointer: string,
  head: MediaTypeObject,
  headPointer: string,
  direction: Direction,
  where: string,
): void {
  for (const keyword of ["schema", "x-stowage-item-schema"] as const) {
    const before: DiffSchema | undefined = base[keyword];
    const after: DiffSchema | undefined = head[keyword];
    if (!before || !after) continue;
    reportSchemaChanges(
      context,
      { schema: before, pointer: childPointer(basePointer, keyword) },
      { schema: after, pointer: childPointer(headPointer, keyword) },
      direction,
      where,
      keyword === "schema" ? "body" : "line",
    );
  }
}
