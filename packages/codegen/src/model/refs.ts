import type { OpenApiDocument } from "../load/openapi-document";

/** Follows local `$ref`s (`#/components/...`) until a non-reference object; a bundled spec has no others. */
export function resolveLocal<T extends object>(
  document: OpenApiDocument,
  value: T | { $ref?: string },
): T {
  let current: unknown = value;
  const seen = new Set<string>();
  while (
    current &&
    typeof current === "object" &&
    typeof (current as { $ref?: unknown }).$ref === "string"
  ) {
    const ref = (current as { $ref: string }).$ref;
    if (seen.has(ref)) throw new Error(`$ref cycle through ${ref}`);
    seen.add(ref);
    current = pointer(document, ref);
  }
  return current as T;
}

function pointer(document: OpenApiDocument, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`unexpected non-local $ref ${ref} in a bundled spec`);
  let node: unknown = document;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!node || typeof node !== "object" || !(key in node))
      throw new Error(`$ref ${ref} does not resolve`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export function schemaNameOfRef(ref: string): string {
  const match = /^#\/components\/schemas\/([^/]+)$/.exec(ref);
  if (!match) throw new Error(`expected a component schema $ref, got ${ref}`);
  return match[1].replace(/~1/g, "/").replace(/~0/g, "~");
}
