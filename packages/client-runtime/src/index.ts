export { createStowageClient } from "./create-client";
export type {
  CallResult,
  ItemSchemas,
  StowageClient,
  StowageClientExtensions,
  StowageClientOptions,
} from "./create-client";
export { StowageApiError } from "./errors";
export { encodeNdjson, parseNdjson } from "./ndjson-lines";
export type { CallInit, HttpMethod, SuccessBody, SuccessMediaType } from "./operation-types";
export { backoffMs, retryAfterMs, type RetryOptions } from "./retry-policy";
export { send, type TokenProvider, type TransportOptions } from "./transport";
