/**
 * An agent enrolled over the real agent API, the way an agent author's code does it: an operator
 * creates an enrollment through the control API, the agent posts its P-256 public key to
 * `POST /engines/enroll`, then authenticates with client assertions through the agent client's
 * `accessTokenProvider`.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import {
  accessTokenProvider,
  createAgentClient,
  type AgentClient,
  type AgentCredentials,
  type EndpointMap,
} from "@stowage/agent-client";
import type { ControlClient } from "@stowage/control-client";
import type { TestController } from "./test-controller";
import { must } from "./pull-fixture";

export interface TestAgent extends AgentCredentials {
  publicKey: KeyObject;
  keyThumbprint: string;
  endpoints: EndpointMap;
  /** An agent-API client authenticated as this agent (client assertions, refreshed on 401). */
  client: AgentClient;
}

/** A client without credentials, for the public routes and for attacks. */
export function anonymousAgentClient(t: Pick<TestController, "url" | "dispatcher">): AgentClient {
  return createAgentClient({ baseUrl: t.url, retry: false, dispatcher: t.dispatcher });
}

export async function enrollTestAgent(
  t: Pick<TestController, "url" | "dispatcher" | "client">,
  operator: ControlClient = t.client(),
  options: { agentName?: string } = {},
): Promise<TestAgent> {
  const enrollment = must(
    await operator.POST("/v1/enrollments", {
      body: options.agentName ? { agent_name: options.agentName } : {},
    }),
  );
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { data, error } = await anonymousAgentClient(t).POST("/engines/enroll", {
    body: {
      enrollment_token: enrollment.token,
      public_key: publicKey.export({ type: "spki", format: "pem" }).toString(),
      hostname: "db-host.internal",
      agent_version: "stowage-test-agent/0.1.0",
    },
  });
  if (!data) throw new Error(`enrollment failed: ${JSON.stringify(error)}`);
  const credentials = {
    instance: data.instance,
    privateKey,
    keyThumbprint: data.key_thumbprint,
  };
  const auth = accessTokenProvider({
    tokenUrl: data.endpoints.token,
    credentials,
    dispatcher: t.dispatcher,
  });
  return {
    ...credentials,
    publicKey,
    endpoints: data.endpoints,
    client: createAgentClient({ baseUrl: t.url, auth, retry: false, dispatcher: t.dispatcher }),
  };
}
