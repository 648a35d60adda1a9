import { accessTokenProvider, createAgentClient, type AgentClient } from "@stowage/agent-client";
import { credentialsOf, type AgentState } from "./agent-state";

/** Claims long-poll for up to 60 s (the spec's maximum `wait`): each attempt may take that long plus slack. */
const CALL_TIMEOUT_MS = 75_000;

/** An agent-API client signed in as the enrolled instance (client assertions, refreshed on 401). */
export function connectAgent(state: AgentState): AgentClient {
  const auth = accessTokenProvider({
    tokenUrl: state.endpoints.token,
    credentials: credentialsOf(state),
  });
  return createAgentClient({ baseUrl: state.controller, auth, timeoutMs: CALL_TIMEOUT_MS });
}
