export {
  ApiError,
  codeForStatus,
  type ApiErrorInit,
  type ErrorDetail,
  type Suggestion,
} from "./api-error";
export {
  createStowageRouter,
  type ApiDefinition,
  type AuthenticateInput,
  type Logger,
  type OperationDescriptor,
  type StowageRouter,
  type StowageRouterOptions,
} from "./create-router";
export type {
  HandlerContext,
  HandlerResult,
  Reply,
  ReplyHeaders,
  RequestBody,
} from "./handler-types";
export {
  negotiateMedia,
  parseAccept,
  type NegotiatedMedia,
  type Negotiation,
} from "./negotiate-media";
export { SerializedJson } from "./serialized-json";
export { StowageIncomingMessage } from "./incoming-request";
export {
  NdjsonRequestBody,
  ndjsonLines,
  readNdjsonBody,
  type LineSchema,
  type NdjsonLine,
} from "./ndjson-body";
export { writeNdjson, type NdjsonWriterOptions } from "./ndjson-writer";
export { renderError, type ErrorSchema } from "./render-error";
export { notImplemented } from "./not-implemented";
