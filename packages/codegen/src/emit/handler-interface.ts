import type { ApiModel, MediaModel, OperationModel } from "../model/api-model";
import { generatedHeader } from "./header";
import { propertyKey } from "./identifiers";

/**
 * One method per operation: a typed context in, a union of the documented replies out, so an
 * undocumented status, media type or body does not compile.
 */
export function emitHandlers(model: ApiModel): string {
  const name = model.pascal;
  const methods = model.operations.map((operation) => {
    const op = `Ops[${JSON.stringify(operation.operationId)}]`;
    const accept =
      operation.negotiation.produces.map((type) => JSON.stringify(type)).join(" | ") || "never";
    const requestStreams = streamMap(operation.requestBody?.media ?? [], "request");
    const responseStreams = streamMap(
      operation.responses.flatMap((response) => response.media),
      "response",
    );
    return [
      `/** ${operation.method.toUpperCase()} ${operation.path}: ${operation.summary}${operation.verb ? ` (verb \`${operation.verb}\`)` : ""} */`,
      `${propertyKey(operation.operationId)}(ctx: HandlerContext<${op}, ${principalType(operation)}, ${accept}, ${requestStreams}>): HandlerResult<${op}, ${responseStreams}>;`,
    ].join("\n");
  });
  const allMedia = model.operations.flatMap((operation) => [
    ...(operation.requestBody?.media ?? []),
    ...operation.responses.flatMap((response) => response.media),
  ]);
  const usesReadable = allMedia.some((media) => media.binary && !media.ndjsonItem);
  const usesComponents = allMedia.some((media) => media.ndjsonItem);
  return [
    generatedHeader(model),
    usesReadable ? 'import type { Readable } from "node:stream";' : "",
    'import type { HandlerContext, HandlerResult } from "@stowage/server-runtime";',
    `import type { ${usesComponents ? "components, " : ""}operations as Ops } from "./types";`,
    "",
    `/** The operations of ${model.document.info.title}; \`create${name}Router\` takes any subset (the rest answer 410). */`,
    `export interface ${name}Handlers<Principal = unknown> {`,
    ...methods,
    "}",
    "",
    `export type ${name}OperationId = keyof ${name}Handlers;`,
    "",
  ].join("\n");
}

/** Public operations have no principal; an optional requirement (`{}`) may have one. */
function principalType(operation: OperationModel): string {
  if (operation.security.length === 0) return "undefined";
  const optional = operation.security.some((requirement) => Object.keys(requirement).length === 0);
  return optional ? "Principal | undefined" : "Principal";
}

/** Media types whose bodies are streams: NDJSON as typed items, binary as bytes. */
function streamMap(media: MediaModel[], side: "request" | "response"): string {
  const entries = new Map<string, string>();
  for (const entry of media) {
    if (entry.ndjsonItem) {
      entries.set(
        entry.type,
        `AsyncIterable<components["schemas"][${JSON.stringify(entry.ndjsonItem)}]>`,
      );
    } else if (entry.binary) {
      entries.set(entry.type, side === "request" ? "Readable" : "Readable | Uint8Array");
    }
  }
  if (entries.size === 0) return "{}";
  return `{ ${[...entries].map(([type, body]) => `${JSON.stringify(type)}: ${body}`).join("; ")} }`;
}
