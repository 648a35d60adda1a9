import Ajv2020, { type ErrorObject } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { LineSchema } from "./ndjson-body";

/**
 * Validators of NDJSON request lines, compiled by ajv from the document's own component schemas:
 * an OpenAPI 3.1 schema is JSON Schema 2020-12, the dialect the request validator checks JSON
 * bodies with, so a line is held to what the same item is held to in a JSON body (formats
 * included, `date-time` as RFC 3339). Measured on 1 MiB of databacker log lines
 * (scripts/bench/agent-logs.ts): JSON.parse 2.5 ms, then the generated zod schema 3 ms, ajv 0.1
 * to 0.9 ms; zod also copies each line's object. Other OpenAPI versions keep the zod schemas,
 * whose dialect (3.0's `nullable`, boolean `exclusiveMinimum`) ajv 2020 does not read.
 */
export function compileLineSchemas(
  document: Record<string, unknown>,
  names: ReadonlySet<string>,
): Map<string, LineSchema> | undefined {
  if (typeof document.openapi !== "string" || !document.openapi.startsWith("3.1.")) return;
  const ajv = new Ajv2020({
    // As express-openapi-validator sets up its request validator.
    strict: false,
    strictNumbers: true,
    allErrors: true,
    useDefaults: true,
    validateSchema: false,
    // OpenAPI's own formats: the type is checked, the range is not (nor was it by zod).
    formats: {
      int32: true,
      int64: true,
      float: true,
      double: true,
      byte: true,
      binary: true,
      password: true,
    },
  });
  addFormats(ajv, { mode: "fast" });
  ajv.addSchema({ components: document.components }, "document");
  const schemas = new Map<string, LineSchema>();
  for (const name of names) {
    const validate = ajv.compile({ $ref: `document#/components/schemas/${name}` });
    schemas.set(name, {
      safeParse: (value) =>
        validate(value)
          ? { success: true, data: value }
          : { success: false, error: { issues: (validate.errors ?? []).map(issueOf) } },
    });
  }
  return schemas;
}

/** An ajv error as a zod-style issue: the path down to the offending property. */
function issueOf(error: ErrorObject): { path: PropertyKey[]; message: string } {
  const path = error.instancePath
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const property = params.missingProperty ?? params.additionalProperty;
  return {
    path: property === undefined ? path : [...path, property],
    message: error.message ?? error.keyword,
  };
}
