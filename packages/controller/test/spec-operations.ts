import { operationDescriptors as agentDescriptors } from "@stowage/agent-server";
import { operationDescriptors } from "@stowage/control-server";

export interface SpecOperation {
  operationId: string;
  method: string;
  path: string;
  verb?: string;
  secured: boolean;
  hasBody: boolean;
  bodyTypes: string[];
}

type Descriptors = typeof operationDescriptors | typeof agentDescriptors;

function operationsOf(descriptors: Descriptors): SpecOperation[] {
  return Object.entries(descriptors).map(([operationId, descriptor]) => {
    const request = "requestBody" in descriptor ? descriptor.requestBody : undefined;
    return {
      operationId,
      method: descriptor.method.toUpperCase(),
      path: descriptor.path,
      verb: "verb" in descriptor ? descriptor.verb : undefined,
      secured: descriptor.security.length > 0,
      hasBody: request !== undefined,
      bodyTypes: request ? request.media.map((media: { type: string }) => media.type) : [],
    };
  });
}

/** Every operation of the control spec, from the generated operations table: tests walk all of them. */
export const specOperations: SpecOperation[] = operationsOf(operationDescriptors);

/** Every operation of the agent spec, likewise. */
export const agentSpecOperations: SpecOperation[] = operationsOf(agentDescriptors);

/** The path with each `{param}` replaced, e.g. by an id that exists in another tenant. */
export function fillPath(path: string, values: (name: string) => string): string {
  return path.replace(/\{([^}]+)\}/g, (_match, name: string) => encodeURIComponent(values(name)));
}

export function isEnvelope(body: unknown): boolean {
  const candidate = body as {
    schema?: unknown;
    error?: { code?: unknown; message?: unknown; request_id?: unknown };
  };
  return (
    candidate?.schema === "stowage.v1" &&
    typeof candidate.error?.code === "string" &&
    typeof candidate.error.message === "string" &&
    typeof candidate.error.request_id === "string"
  );
}
