// The public entry point of @stowage/zeebe-backup-client; everything under generated/ comes from the spec.
export * from "./generated/client";
export * from "./generated/schemas";
export type { components, operations, paths } from "./generated/types";
export { operations as operationDescriptors, type OperationId } from "./generated/operations";
export {
  StowageApiError,
  type StowageClientOptions,
  type TokenProvider,
} from "@stowage/client-runtime";
