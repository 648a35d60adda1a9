import { generateKeyPairSync } from "node:crypto";
import { hostname } from "node:os";
import { access } from "node:fs/promises";
import { createAgentClient, StowageApiError } from "@stowage/agent-client";
import { saveAgentState, type AgentState } from "./agent-state";

export const AGENT_VERSION = "stowage-agent/0.1.0";

export interface EnrollOptions {
  controller: string;
  token: string;
  stateFile: string;
  hostname?: string;
  /** Replace an existing identity; without it an existing state file is kept and enrollment refused. */
  force?: boolean;
}

/** Makes a P-256 key, enrolls its public half with the one-time token, and keeps the identity. */
export async function enrollAgent(options: EnrollOptions): Promise<AgentState> {
  if (
    !options.force &&
    (await access(options.stateFile).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error(
      `${options.stateFile} already holds an enrolled identity; pass --force to replace it`,
    );
  }
  const controller = options.controller.replace(/\/+$/, "");
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const client = createAgentClient({ baseUrl: controller });
  const { data, error, response } = await client.POST("/engines/enroll", {
    body: {
      enrollment_token: options.token,
      public_key: publicKey.export({ type: "spki", format: "pem" }).toString(),
      hostname: options.hostname ?? hostname(),
      agent_version: AGENT_VERSION,
    },
  });
  if (!data) throw new StowageApiError(response.status, error, response, undefined);
  const state: AgentState = {
    controller,
    instance: data.instance,
    key_thumbprint: data.key_thumbprint,
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    endpoints: data.endpoints,
    enrolled_at: data.enrolled_at,
  };
  await saveAgentState(options.stateFile, state);
  return state;
}
