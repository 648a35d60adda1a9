import { createConfig, type Config } from "@redocly/openapi-core";
import {
  astToString,
  resolveRef,
  scanDiscriminators,
  transformSchema,
  type GlobalContext,
  type OpenAPI3,
  type OpenAPITSOptions,
} from "openapi-typescript";
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

/** The options stowage generates with; `openapiTS(document, OPTIONS)` gives the same AST. */
const OPTIONS = {
  // An open object is Record<string, unknown>, not Record<string, never>.
  emptyObjectsUnknown: true,
  // A default the server applies is still optional for the caller.
  defaultNonNullable: false,
  silent: true,
  transform(schema, options) {
    // Binary request bodies are uploaded from streams or buffers, not built as strings.
    if (schema.format === "binary" && options.path?.includes("requestBody")) return BINARY_REQUEST;
    return undefined;
  },
} satisfies OpenAPITSOptions;

let redocly: Promise<Config> | undefined;

export async function emitTypes(model: ApiModel): Promise<TypesOutput> {
  const document = structuredClone(model.document);
  const schema = document as unknown as OpenAPI3;
  // `openapiTS()` would serialize the document, lint it and bundle it again with Redocly before
  // transforming it: about two thirds of its time on our specs. The document is already bundled
  // (and checked) by bundleSpec with the same Redocly version, and openapiTS's lint enables no
  // rule with the config it is given, so this calls its exported `transformSchema` with the
  // context `openapiTS()` builds for OPTIONS (openapi-typescript 7.13.0, pinned; `check` and the
  // snapshot tests catch any drift byte for byte).
  const ctx: GlobalContext = {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: OPTIONS.defaultNonNullable,
    // Patches discriminator values into the branch schemas of `document`, as openapiTS() does.
    discriminators: scanDiscriminators(schema, OPTIONS),
    emptyObjectsUnknown: OPTIONS.emptyObjectsUnknown,
    enum: false,
    enumValues: false,
    conditionalEnums: false,
    dedupeEnums: false,
    excludeDeprecated: false,
    exportType: false,
    immutable: false,
    rootTypes: false,
    rootTypesNoSchemaPrefix: false,
    rootTypesKeepCasing: false,
    injectFooter: [],
    pathParamsAsTypes: false,
    postTransform: undefined,
    propertiesRequiredByDefault: false,
    // Not read by the transforms (only by the lint and bundle skipped here), but part of the type.
    redoc: await (redocly ??= createConfig({}, { extends: ["minimal"] })),
    silent: OPTIONS.silent,
    inject: undefined,
    transform: OPTIONS.transform,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    resolve<T>($ref: string): T | undefined {
      return resolveRef<T>(schema, $ref, { silent: OPTIONS.silent });
    },
  };
  const ast = transformSchema(schema, ctx);
  return { source: `${generatedHeader(model)}\n${astToString(ast)}`, document };
}
