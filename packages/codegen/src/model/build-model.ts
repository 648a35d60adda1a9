import {
  HTTP_METHODS,
  type MediaTypeObject,
  type OpenApiDocument,
  type OperationObject,
  type ParameterObject,
  type RequestBodyObject,
  type ResponseObject,
} from "../load/openapi-document";
import type {
  ApiModel,
  MediaModel,
  NegotiationModel,
  OperationModel,
  ParameterModel,
  ResponseModel,
} from "./api-model";
import { resolveLocal, schemaNameOfRef } from "./refs";

export interface ModelInput {
  name: string;
  specLabel: string;
  sha256: string;
  document: OpenApiDocument;
}

export function buildModel({ name, specLabel, sha256, document }: ModelInput): ApiModel {
  const schemaNames = Object.keys(document.components?.schemas ?? {}).sort();
  const errors = errorModel(document, schemaNames, specLabel);
  const operations: OperationModel[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operations.push(
        buildOperation(document, specLabel, path, method, operation, item.parameters ?? []),
      );
    }
  }
  operations.sort((a, b) => (a.operationId < b.operationId ? -1 : 1));
  const seen = new Set<string>();
  for (const { operationId } of operations) {
    if (seen.has(operationId))
      throw new Error(`${specLabel}: operationId ${operationId} is used twice`);
    seen.add(operationId);
  }
  return {
    name,
    pascal: pascalCase(name),
    specLabel,
    sha256,
    document,
    errors,
    schemaNames,
    operations,
  };
}

function buildOperation(
  document: OpenApiDocument,
  specLabel: string,
  path: string,
  method: string,
  operation: OperationObject,
  pathLevel: ParameterObject[],
): OperationModel {
  const where = `${specLabel}: ${method.toUpperCase()} ${path}`;
  if (!operation.operationId) throw new Error(`${where} has no operationId`);
  const responses = Object.entries(operation.responses ?? {})
    .map(([status, response]) => buildResponse(document, status, response))
    .sort((a, b) => statusOrder(a.status) - statusOrder(b.status));
  return {
    operationId: operation.operationId,
    method,
    path,
    tag: operation.tags?.[0] ?? "default",
    summary: operation.summary ?? operation.operationId,
    verb: operation["x-stowage-verb"],
    security: operation.security ?? document.security ?? [],
    parameters: mergeParameters(document, pathLevel, operation.parameters ?? []),
    requestBody: buildRequestBody(document, operation.requestBody),
    responses,
    negotiation: buildNegotiation(where, operation, responses),
  };
}

function mergeParameters(
  document: OpenApiDocument,
  pathLevel: ParameterObject[],
  operationLevel: ParameterObject[],
): ParameterModel[] {
  const byKey = new Map<string, ParameterModel>();
  for (const raw of [...pathLevel, ...operationLevel]) {
    const parameter = resolveLocal<ParameterObject>(document, raw);
    byKey.set(`${parameter.in}:${parameter.name}`, {
      name: parameter.name,
      in: parameter.in,
      required: parameter.in === "path" || parameter.required === true,
    });
  }
  return [...byKey.values()];
}

function buildRequestBody(
  document: OpenApiDocument,
  raw: RequestBodyObject | undefined,
): OperationModel["requestBody"] {
  if (!raw) return undefined;
  const body = resolveLocal<RequestBodyObject>(document, raw);
  return { required: body.required === true, media: buildMedia(document, body.content ?? {}) };
}

function buildResponse(
  document: OpenApiDocument,
  status: string,
  raw: ResponseObject,
): ResponseModel {
  const response = resolveLocal<ResponseObject>(document, raw);
  return {
    status: status === "default" ? "default" : Number(status),
    media: buildMedia(document, response.content ?? {}),
  };
}

function buildMedia(
  document: OpenApiDocument,
  content: Record<string, MediaTypeObject>,
): MediaModel[] {
  return Object.entries(content).map(([type, media]) => {
    const schema = media.schema ? resolveLocal(document, media.schema) : undefined;
    const item = media["x-stowage-item-schema"];
    return {
      type,
      binary: schema?.type === "string" && schema.format === "binary",
      ...(item?.$ref ? { ndjsonItem: schemaNameOfRef(item.$ref) } : {}),
    };
  });
}

function buildNegotiation(
  where: string,
  operation: OperationObject,
  responses: ResponseModel[],
): NegotiationModel {
  const extension = operation["x-stowage-media"] ?? {};
  const aliases = extension.aliases ?? {};
  const produces: string[] = [];
  for (const response of responses) {
    if (typeof response.status !== "number" || response.status < 200 || response.status >= 300)
      continue;
    for (const { type } of response.media) {
      if (!(type in aliases) && !produces.includes(type)) produces.push(type);
    }
  }
  for (const [alias, target] of Object.entries(aliases)) {
    if (!produces.includes(target))
      throw new Error(
        `${where}: x-stowage-media alias ${alias} names ${target}, which no success response serves`,
      );
  }
  if (extension.default && !produces.includes(extension.default)) {
    throw new Error(
      `${where}: x-stowage-media default ${extension.default} is not served by a success response`,
    );
  }
  return { produces, aliases, ...(extension.default ? { default: extension.default } : {}) };
}

/**
 * `x-stowage-error` when the spec says; otherwise the stowage envelope if the spec has one, else
 * `{ message }`, the shape most third-party specs (databacker's included) use for errors.
 */
function errorModel(
  document: OpenApiDocument,
  schemaNames: string[],
  specLabel: string,
): ApiModel["errors"] {
  const declared = document["x-stowage-error"];
  if (declared?.schema !== undefined && !schemaNames.includes(declared.schema)) {
    throw new Error(
      `${specLabel}: x-stowage-error names schema ${declared.schema}, which components.schemas lacks`,
    );
  }
  if (declared) return { schema: declared.schema, style: declared.style ?? "envelope" };
  return schemaNames.includes("ErrorEnvelope")
    ? { schema: "ErrorEnvelope", style: "envelope" }
    : { style: "message" };
}

function statusOrder(status: number | "default"): number {
  return status === "default" ? 1000 : status;
}

export function pascalCase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join("");
}
