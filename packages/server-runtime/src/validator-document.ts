/**
 * The spec as express-openapi-validator gets it: a deep copy without `discriminator` keywords.
 * The validator honours a discriminator only on a request body's top-level schema; on a nested
 * one (a `destination` that is S3 or Swift by `type`) it looks for the property on the body
 * itself and refuses every valid request (upstream issue #588). Stowage specs give each `oneOf`
 * branch its discriminating property as a `const` (openapi/CONVENTIONS.md), so the `oneOf` alone
 * accepts and refuses exactly the same documents; the generated types and zod schemas still use
 * the discriminator.
 */
export function validatorDocument(document: Record<string, unknown>): Record<string, unknown> {
  return withoutDiscriminators(document) as Record<string, unknown>;
}

function withoutDiscriminators(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDiscriminators);
  if (value === null || typeof value !== "object") return value;
  const copy: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    // Only the schema keyword: a property *named* discriminator (under `properties`) stays.
    const keyword = "oneOf" in value || "anyOf" in value;
    if (key === "discriminator" && keyword && isDiscriminatorObject(member)) continue;
    copy[key] = withoutDiscriminators(member);
  }
  return copy;
}

function isDiscriminatorObject(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { propertyName?: unknown }).propertyName === "string"
  );
}
