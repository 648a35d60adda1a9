import { createConfig, type Config } from "@redocly/openapi-core";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import type { OpenApiDocument } from "../load/openapi-document";
import type { ApiModel } from "../model/api-model";
import { generatedHeader } from "./header";

export interface TypesOutput {
  source: string;
  /** openapi-typescript patches discriminator properties into branch schemas; the zod emitter reads this copy. */
  document: OpenApiDocument;
}

const BINARY_REQUEST = ts.factory.createUnionTypeNode(
  ["Blob", "Uint8Array", "ReadableStream<Uint8Array>", "string"].map((name) =>
    ts.factory.createTypeReferenceNode(name),
  ),
);

let redocly: Promise<Config> | undefined;

export async function emitTypes(model: ApiModel): Promise<TypesOutput> {
  const document = structuredClone(model.document);
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0], {
    // An open object is Record<string, unknown>, not Record<string, never>.
    emptyObjectsUnknown: true,
    // A default the server applies is still optional for the caller.
    defaultNonNullable: false,
    // Created once per process: openapi-typescript would otherwise build a Redocly config per spec.
    redocly: await (redocly ??= createConfig({}, { extends: ["minimal"] })),
    silent: true,
    transform(schema, options) {
      // Binary request bodies are uploaded from streams or buffers, not built as strings.
      if (schema.format === "binary" && options.path?.includes("requestBody"))
        return BINARY_REQUEST;
      return undefined;
    },
  });
  return { source: `${generatedHeader(model)}\n${astToString(ast)}`, document };
}
