import type { ApiModel } from "../model/api-model";
import { generatedHeader } from "./header";

/** The bundled spec the router validates against, so a server needs no file next to it at run time. */
export function emitEmbeddedSpec(model: ApiModel): string {
  return [
    generatedHeader(model),
    `export const specSha256 = ${JSON.stringify(model.sha256)};`,
    "",
    `export const document: Record<string, unknown> = ${JSON.stringify(model.document)};`,
    "",
  ].join("\n");
}
