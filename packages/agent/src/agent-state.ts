import { randomBytes, createPrivateKey, type KeyObject } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { AgentCredentials, EndpointMap } from "@stowage/agent-client";

/** What enrollment leaves on disk: the agent's identity. It holds a private key: mode 0600. */
export interface AgentState {
  controller: string;
  instance: string;
  key_thumbprint: string;
  /** PKCS#8 PEM of the P-256 key whose public half was enrolled. */
  private_key: string;
  endpoints: EndpointMap;
  enrolled_at: string;
}

export class NotEnrolledError extends Error {
  constructor(file: string) {
    super(
      `no agent state at ${file}: run \`stowage-agent enroll --controller URL --token T\` first`,
    );
    this.name = "NotEnrolledError";
  }
}

export const DEFAULT_STATE_FILE = "./data/agent/state.json";

export async function loadAgentState(file: string): Promise<AgentState> {
  const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw new NotEnrolledError(file);
    throw error;
  });
  const state = JSON.parse(text) as Partial<AgentState>;
  for (const field of ["controller", "instance", "private_key", "endpoints"] as const) {
    if (!state[field]) throw new Error(`agent state ${file} has no ${field}: enroll again`);
  }
  return state as AgentState;
}

/**
 * Writes the state through a temp file created 0600 and renamed, so the key is never readable
 * by others, not even for a moment, and a crash leaves the old state or the new one, never half.
 */
export async function saveAgentState(file: string, state: AgentState): Promise<void> {
  const directory = path.dirname(file);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temp = path.join(directory, `.${path.basename(file)}.${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    await chmod(temp, 0o600);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export function credentialsOf(state: AgentState): AgentCredentials {
  const privateKey: KeyObject = createPrivateKey(state.private_key);
  return { instance: state.instance, privateKey, keyThumbprint: state.key_thumbprint };
}
