import type { ApiModel } from "../model/api-model";
import { generatedHeader } from "./header";
import { propertyKey } from "./identifiers";

/** Per operationId: method, path, verb, security, media types, streaming: the data both runtimes read. */
export function emitOperations(model: ApiModel): string {
  const entries = model.operations.map((operation) => {
    const { operationId, ...descriptor } = operation;
    return `${propertyKey(operationId)}: ${JSON.stringify(descriptor)},`;
  });
  return [
    generatedHeader(model),
    `export const operations = {${entries.join("\n")}} as const;`,
    "",
    "export type OperationId = keyof typeof operations;",
    "",
    `export const errorSchema = ${JSON.stringify(model.errors)} as const;`,
    "",
  ].join("\n");
}
