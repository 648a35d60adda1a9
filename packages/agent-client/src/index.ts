// The public entry point of @stowage/agent-client; everything under generated/ comes from the spec.
export * from "./generated/client";
export * from "./generated/schemas";
export type { components, operations, paths } from "./generated/types";
export { operations as operationDescriptors, type OperationId } from "./generated/operations";
export {
  StowageApiError,
  type StowageClientOptions,
  type TokenProvider,
} from "@stowage/client-runtime";
export {
  accessTokenProvider,
  signClientAssertion,
  type AccessTokenProviderOptions,
  type AgentCredentials,
  type EndpointMap,
} from "./access-token-provider";
