// The public entry point of @stowage/control-server; everything under generated/ comes from the spec.
export * from "./generated/handlers";
export * from "./generated/router";
export * from "./generated/schemas";
export type { components, operations, paths } from "./generated/types";
export { operations as operationDescriptors, type OperationId } from "./generated/operations";
export { document as openapiDocument, specSha256 } from "./generated/spec";
export {
  ApiError,
  StowageIncomingMessage,
  type AuthenticateInput,
  type StowageRouterOptions,
} from "@stowage/server-runtime";
