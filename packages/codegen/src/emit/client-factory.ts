import type { ApiModel } from "../model/api-model";
import { generatedHeader } from "./header";
import { schemaConstName } from "./identifiers";
import { ndjsonItemSchemas, ndjsonItemTypes, ndjsonOperations } from "./ndjson-items";

export function emitClient(model: ApiModel): string {
  const name = model.pascal;
  const usesSchemas =
    ndjsonOperations(model, "request").length + ndjsonOperations(model, "response").length > 0;
  return [
    generatedHeader(model),
    'import { createStowageClient, type StowageClient, type StowageClientOptions } from "@stowage/client-runtime";',
    `import type { ${usesSchemas ? "components, " : ""}paths } from "./types";`,
    usesSchemas ? "import { " + schemaImports(model) + ' } from "./schemas";' : "",
    "",
    "/** The item type of each NDJSON response, by path and method. */",
    `export type ${name}NdjsonResponses = ${ndjsonItemTypes(model, "response")};`,
    "",
    "/** The item type of each NDJSON request body, by path and method. */",
    `export type ${name}NdjsonRequests = ${ndjsonItemTypes(model, "request")};`,
    "",
    `const itemSchemas = { responses: ${ndjsonItemSchemas(model, "response")}, requests: ${ndjsonItemSchemas(model, "request")} };`,
    "",
    `export type ${name}Client = StowageClient<paths, ${name}NdjsonResponses, ${name}NdjsonRequests>;`,
    "",
    `/** A typed client for ${model.document.info.title}: auth, retries, request ids, timeouts and NDJSON streams. */`,
    `export function create${name}Client(options: StowageClientOptions): ${name}Client {`,
    `  return createStowageClient<paths, ${name}NdjsonResponses, ${name}NdjsonRequests>(options, itemSchemas);`,
    "}",
    "",
  ].join("\n");
}

function schemaImports(model: ApiModel): string {
  const items = new Set(
    [...ndjsonOperations(model, "request"), ...ndjsonOperations(model, "response")].map(
      (op) => op.item,
    ),
  );
  return [...items].sort().map(schemaConstName).join(", ");
}
