import type { OpenApiDocument } from "../load/openapi-document";
import { resolveLocal } from "../model/refs";
import type { DiffSchema, SchemaFinding, SchemaSite } from "./diff-schema";
import { kindOfEffect } from "./direction";
import { childPointer, pointerOfRef } from "./json-pointer";
import { isObjectLike, objectShape, type ObjectShape } from "./object-shape";
import { compareValueKeywords } from "./schema-keywords";
import type { Direction } from "./spec-change";

/** What one walk found, and the pairs of `$ref`s it reached but did not enter. */
interface Walk {
  findings: SchemaFinding[];
  refPairs: Set<string>;
}

/**
 * Compares schemas of a base and a head document in a direction. Where both sides are a `$ref`,
 * the walk stops and records the pair; each pair is compared once per direction and its findings
 * reused by every operation that reaches it. That makes recursive schemas terminate (a pair met
 * again is already known) and keeps a component used by a hundred operations from being walked a
 * hundred times.
 */
export class SchemaComparer {
  private readonly pairs = new Map<string, Walk>();

  constructor(
    private readonly base: OpenApiDocument,
    private readonly head: OpenApiDocument,
  ) {}

  compare(
    base: SchemaSite,
    head: SchemaSite,
    direction: Direction,
    label: string,
  ): SchemaFinding[] {
    const root: Walk = { findings: [], refPairs: new Set() };
    this.walk(base, head, direction, label, root);
    const findings = [...root.findings];
    const queue = [...root.refPairs];
    const visited = new Set<string>();
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      if (visited.has(key)) continue;
      visited.add(key);
      const pair = this.comparePair(key);
      findings.push(...pair.findings);
      queue.push(...pair.refPairs);
    }
    return uniqueFindings(findings);
  }

  private comparePair(key: string): Walk {
    let walk = this.pairs.get(key);
    if (walk) return walk;
    const [direction, baseRef, headRef] = JSON.parse(key) as [Direction, string, string];
    walk = { findings: [], refPairs: new Set() };
    this.pairs.set(key, walk);
    const base = {
      schema: resolveLocal<DiffSchema>(this.base, { $ref: baseRef }),
      pointer: pointerOfRef(baseRef),
    };
    const head = {
      schema: resolveLocal<DiffSchema>(this.head, { $ref: headRef }),
      pointer: pointerOfRef(headRef),
    };
    this.compareResolved(base, head, direction, nameOfRef(headRef), walk);
    return walk;
  }

  private walk(
    base: SchemaSite,
    head: SchemaSite,
    direction: Direction,
    label: string,
    walk: Walk,
  ): void {
    const baseRef = base.schema.$ref;
    const headRef = head.schema.$ref;
    if (baseRef !== undefined && headRef !== undefined) {
      walk.refPairs.add(JSON.stringify([direction, baseRef, headRef]));
      return;
    }
    // One side inline: resolving the other terminates, since the inline side is finite.
    this.compareResolved(
      this.resolve(this.base, base),
      this.resolve(this.head, head),
      direction,
      label,
      walk,
    );
  }

  private resolve(document: OpenApiDocument, site: SchemaSite): SchemaSite {
    const ref = site.schema.$ref;
    if (ref === undefined) return site;
    return { schema: resolveLocal<DiffSchema>(document, site.schema), pointer: pointerOfRef(ref) };
  }

  private compareResolved(
    base: SchemaSite,
    head: SchemaSite,
    direction: Direction,
    label: string,
    walk: Walk,
  ): void {
    if (base.schema.deprecated !== true && head.schema.deprecated === true) {
      walk.findings.push({
        kind: "deprecation",
        rule: "schema.deprecated",
        pointer: head.pointer,
        reason: `\`${label}\` deprecated`,
      });
    }
    walk.findings.push(...compareValueKeywords(base, head, direction, label));
    this.compareVariants(base, head, direction, label, walk);
    if (isObjectLike(base.schema) || isObjectLike(head.schema))
      this.compareObjects(base, head, direction, label, walk);
    if (base.schema.items && head.schema.items) {
      this.walk(
        { schema: base.schema.items, pointer: childPointer(base.pointer, "items") },
        { schema: head.schema.items, pointer: childPointer(head.pointer, "items") },
        direction,
        `${label}[]`,
        walk,
      );
    }
  }

  /** `oneOf`/`anyOf` branches, matched by the `$ref` they name, else by position. */
  private compareVariants(
    base: SchemaSite,
    head: SchemaSite,
    direction: Direction,
    label: string,
    walk: Walk,
  ): void {
    for (const keyword of ["oneOf", "anyOf"] as const) {
      const before = branches(base, keyword);
      const after = branches(head, keyword);
      if (before.size === 0 && after.size === 0) continue;
      if (before.size === 0 || after.size === 0) {
        walk.findings.push({
          kind: "breaking",
          rule: "schema.composition-changed",
          pointer: head.pointer,
          reason: `\`${label}\` ${before.size === 0 ? "became" : "is no longer"} a ${keyword}`,
        });
        continue;
      }
      for (const [key, branch] of before) {
        const match = after.get(key);
        if (match) this.walk(branch, match, direction, label, walk);
        else
          walk.findings.push({
            kind: kindOfEffect("narrowed", direction),
            rule: "schema.branch-removed",
            pointer: branch.pointer,
            reason: `\`${label}\` ${keyword} variant ${key} removed`,
          });
      }
      for (const [key, branch] of after) {
        if (before.has(key)) continue;
        walk.findings.push({
          kind: kindOfEffect("widened", direction),
          rule: "schema.branch-added",
          pointer: branch.pointer,
          reason: `\`${label}\` ${keyword} variant ${key} added`,
        });
      }
    }
  }

  private compareObjects(
    base: SchemaSite,
    head: SchemaSite,
    direction: Direction,
    label: string,
    walk: Walk,
  ): void {
    const before = objectShape(this.base, base);
    const after = objectShape(this.head, head);
    const names = new Set([...before.properties.keys(), ...after.properties.keys()]);
    for (const name of names) {
      const was = before.properties.get(name);
      const is = after.properties.get(name);
      const path = `${label}.${name}`;
      // Clients never send readOnly properties nor receive writeOnly ones.
      const hidden = direction === "request" ? "readOnly" : "writeOnly";
      if ((was && this.flag(this.base, was, hidden)) || (is && this.flag(this.head, is, hidden)))
        continue;
      if (was && !is) walk.findings.push(propertyRemoved(was, after, direction, path));
      else if (!was && is) walk.findings.push(propertyAdded(is, after, direction, path, name));
      else if (was && is) {
        const requiredBefore = before.required.has(name);
        const requiredAfter = after.required.has(name);
        if (requiredBefore !== requiredAfter) {
          // A required property narrows what is valid (breaks senders), an optional one widens it.
          const effect = requiredAfter ? "narrowed" : "widened";
          walk.findings.push({
            kind: kindOfEffect(effect, direction),
            rule: requiredAfter ? "property.required" : "property.optional",
            pointer: is.pointer,
            reason: `${direction} property \`${path}\` made ${requiredAfter ? "required" : "optional"}`,
          });
        }
        this.walk(was, is, direction, path, walk);
      }
    }
    if (before.closed !== after.closed) {
      const effect = after.closed ? "narrowed" : "widened";
      walk.findings.push({
        kind: kindOfEffect(effect, direction),
        rule: after.closed ? "properties.closed" : "properties.opened",
        pointer: head.pointer,
        reason: `\`${label}\` ${after.closed ? "no longer allows" : "now allows"} undeclared properties`,
      });
    }
    if (before.additional && after.additional)
      this.walk(before.additional, after.additional, direction, `${label}{}`, walk);
  }

  private flag(
    document: OpenApiDocument,
    site: SchemaSite,
    flag: "readOnly" | "writeOnly",
  ): boolean {
    return (
      site.schema[flag] === true || resolveLocal<DiffSchema>(document, site.schema)[flag] === true
    );
  }
}

function propertyRemoved(
  was: SchemaSite,
  after: ObjectShape,
  direction: Direction,
  path: string,
): SchemaFinding {
  if (direction === "response") {
    return {
      kind: "breaking",
      rule: "property.removed",
      pointer: was.pointer,
      reason: `response property \`${path}\` removed`,
    };
  }
  // An open object still accepts the property (the server ignores it); a closed one answers 400.
  return {
    kind: after.closed ? "breaking" : "non-breaking",
    rule: "property.removed",
    pointer: was.pointer,
    reason: after.closed
      ? `request property \`${path}\` removed from a closed object: sending it is now a 400`
      : `request property \`${path}\` removed: the server ignores it now`,
  };
}

function propertyAdded(
  is: SchemaSite,
  after: ObjectShape,
  direction: Direction,
  path: string,
  name: string,
): SchemaFinding {
  if (direction === "request" && after.required.has(name)) {
    return {
      kind: "breaking",
      rule: "property.added-required",
      pointer: is.pointer,
      reason: `required request property \`${path}\` added`,
    };
  }
  return {
    kind: "non-breaking",
    rule: "property.added",
    pointer: is.pointer,
    reason: `${direction} property \`${path}\` added`,
  };
}

function branches(site: SchemaSite, keyword: "oneOf" | "anyOf"): Map<string, SchemaSite> {
  const found = new Map<string, SchemaSite>();
  for (const [index, branch] of (site.schema[keyword] ?? []).entries()) {
    const key = branch.$ref !== undefined ? nameOfRef(branch.$ref) : `#${index}`;
    found.set(key, { schema: branch, pointer: childPointer(site.pointer, keyword, index) });
  }
  return found;
}

function nameOfRef(ref: string): string {
  return ref
    .slice(ref.lastIndexOf("/") + 1)
    .replace(/~1/g, "/")
    .replace(/~0/g, "~");
}

function uniqueFindings(findings: SchemaFinding[]): SchemaFinding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.kind}\0${finding.rule}\0${finding.pointer}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
