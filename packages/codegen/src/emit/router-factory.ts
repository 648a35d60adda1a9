import type { ApiModel } from "../model/api-model";
import { generatedHeader } from "./header";

export function emitRouter(model: ApiModel): string {
  const name = model.pascal;
  return [
    generatedHeader(model),
    'import { createStowageRouter, type StowageRouter, type StowageRouterOptions } from "@stowage/server-runtime";',
    `import type { ${name}Handlers } from "./handlers";`,
    'import { errorSchema, operations } from "./operations";',
    'import { schemas } from "./schemas";',
    'import { document } from "./spec";',
    "",
    "/**",
    ` * An Express router for ${model.document.info.title}: validates requests (and responses when asked)`,
    " * against the embedded spec, authenticates, authorizes the operation's verb, negotiates media",
    " * types and maps every error to the spec's error schema. Operations without a handler answer 410.",
    " */",
    `export function create${name}Router<Principal>(`,
    `  handlers: Partial<${name}Handlers<Principal>>,`,
    "  options: StowageRouterOptions<Principal>,",
    "): StowageRouter {",
    "  return createStowageRouter({ document, operations, schemas, errorSchema }, handlers, options);",
    "}",
    "",
  ].join("\n");
}
