import type { ApiModel } from "../model/api-model";
import { generatedHeader } from "./header";

/**
 * The bundled spec the router validates against, so a server needs no file next to it at run time.
 * It is embedded as pretty JSON inside a template literal: diffable line by line, and one token for
 * Prettier, which would otherwise spend longer re-laying out this object than on all other files.
 */
export function emitEmbeddedSpec(model: ApiModel): string {
  const json = JSON.stringify(model.document, null, 2)
    .replace(/[\\`]/g, "\\$&")
    .replace(/\$\{/g, "\\${");
  return [
    generatedHeader(model),
    `export const specSha256 = ${JSON.stringify(model.sha256)};`,
    "",
    `export const document: Record<string, unknown> = JSON.parse(\`${json}\`);`,
    "",
  ].join("\n");
}
