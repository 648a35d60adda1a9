import type { OpenApiDocument, SecurityRequirement } from "../load/openapi-document";

/** What the emitters know about one spec: everything derived once, in a stable order. */
export interface ApiModel {
  /** Kebab-case name from the config, e.g. `zeebe-backup`. */
  name: string;
  /** PascalCase of `name`, e.g. `ZeebeBackup`: `createZeebeBackupClient`, `ZeebeBackupHandlers`. */
  pascal: string;
  /** The spec's path as the header names it (relative to the working directory). */
  specLabel: string;
  sha256: string;
  document: OpenApiDocument;
  errors: ErrorModel;
  schemaNames: string[];
  operations: OperationModel[];
}

export interface ErrorModel {
  /** The component schema of error bodies, when the spec names one. */
  schema?: string;
  style: "envelope" | "message";
}

export interface ParameterModel {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
}

export interface MediaModel {
  type: string;
  /** Component schema name of one NDJSON line, from `x-stowage-item-schema`. */
  ndjsonItem?: string;
  /** `type: string, format: binary`: streamed, not parsed as JSON. */
  binary: boolean;
}

export interface ResponseModel {
  status: number | "default";
  media: MediaModel[];
}

export interface NegotiationModel {
  /** Media types of the success responses, in document order, aliases excluded. */
  produces: string[];
  /** Alias -> the media type it is served as. */
  aliases: Record<string, string>;
  /** What a request without `Accept` (or `*\/*`) gets. */
  default?: string;
}

export interface OperationModel {
  operationId: string;
  method: string;
  path: string;
  tag: string;
  summary: string;
  verb?: string;
  /** Effective requirements (the operation's, else the root's); empty means public. */
  security: SecurityRequirement[];
  parameters: ParameterModel[];
  requestBody?: { required: boolean; media: MediaModel[] };
  responses: ResponseModel[];
  negotiation: NegotiationModel;
}
