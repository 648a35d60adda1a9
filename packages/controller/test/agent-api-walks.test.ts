/**
 * The agent API walked from its spec, as the control API's walks do: every secured operation
 * refuses a request without credentials (401 `auth.required`); an agent's valid request on
 * another agent's instance is 404, never 403, so ids of other agents do not leak; and fuzzed
 * bodies, parameters and media types never get a 500, a stack trace or a non-envelope error.
 */
import fc from "fast-check";
import { accessTokenProvider } from "@stowage/agent-client";
import { enrollTestAgent, type TestAgent } from "./agent-fixture";
import { agentSpecOperations, fillPath, isEnvelope } from "./spec-operations";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
let own: TestAgent;
let other: TestAgent;
let ownToken: string;

beforeAll(async () => {
  t = await startTestController({ tokenRequestsPerMinute: 6000 });
  own = await enrollTestAgent(t);
  other = await enrollTestAgent(t);
  ownToken = await tokenOf(own);
});
afterAll(() => t.stop());

async function tokenOf(agent: TestAgent): Promise<string> {
  return accessTokenProvider({ tokenUrl: agent.endpoints.token, credentials: agent }).getToken({
    forceRefresh: true,
  });
}

const secured = agentSpecOperations.filter((operation) => operation.secured);
const onAnInstance = secured.filter((operation) => operation.path.includes("{instance}"));

/** A request each operation accepts (so refusals come from ownership, not from validation). */
const validRequests: Record<string, { contentType?: string; body?: string }> = {
  getConfig: {},
  getLogCapability: {},
  getTraceCapability: {},
  postLog: {
    contentType: "application/json",
    body: JSON.stringify({ timestamp: new Date().toISOString(), level: "info", message: "hi" }),
  },
  postTraces: { contentType: "application/json", body: JSON.stringify({ resourceSpans: [] }) },
  postEvents: {
    contentType: "application/json",
    body: JSON.stringify({
      events: [{ id: "walk-1", type: "run.started", run: "run-1", at: new Date().toISOString() }],
    }),
  },
  claimJob: { contentType: "application/json", body: "{}" },
  reportJobProgress: {
    contentType: "application/json",
    body: JSON.stringify({ seq: 0, at: new Date().toISOString(), phase: "dump" }),
  },
  completeJob: {
    contentType: "application/json",
    body: JSON.stringify({
      outcome: "failed",
      finished_at: new Date().toISOString(),
      message: "walk",
    }),
  },
};

it("walks every secured operation of the agent spec, with a valid request for each", () => {
  expect(secured.length).toBeGreaterThanOrEqual(9);
  expect(onAnInstance.map((operation) => operation.operationId).sort()).toEqual(
    Object.keys(validRequests).sort(),
  );
});

describe.each(secured)("$method $path ($operationId)", (operation) => {
  it("answers 401 auth.required with the envelope without credentials", async () => {
    const valid = validRequests[operation.operationId] ?? {};
    const response = await fetch(
      `${t.url}${fillPath(operation.path, (name) => (name === "instance" ? own.instance : "job_x"))}`,
      {
        method: operation.method,
        headers: valid.contentType ? { "content-type": valid.contentType } : {},
        body: valid.body,
      },
    );
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { code: string } };
    expect(isEnvelope(body)).toBe(true);
    expect(body.error.code).toBe("auth.required");
  });
});

describe.each(onAnInstance)("$method $path ($operationId)", (operation) => {
  it("answers 404 when an agent names another agent's instance", async () => {
    const valid = validRequests[operation.operationId];
    const response = await fetch(
      `${t.url}${fillPath(operation.path, (name) => (name === "instance" ? other.instance : "job_x"))}`,
      {
        method: operation.method,
        headers: {
          authorization: `Bearer ${ownToken}`,
          ...(valid.contentType ? { "content-type": valid.contentType } : {}),
        },
        body: valid.body,
      },
    );
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string } };
    expect(isEnvelope(body)).toBe(true);
    expect(body.error.code).toBe("resource.not_found");
  });
});

const mediaTypes = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/x-ndjson",
    "application/x-protobuf",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/vnd.stowage.agent-config.v9+json",
    "*/*",
    "",
  ),
  fc.stringMatching(/^[a-z]{1,8}\/[a-z0-9.+-]{1,12}(;q=0\.[0-9])?$/),
);

const fuzzed = fc.record({
  pathValue: fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.constantFrom("..", "%2e%2e", "' OR 1=1 --", "\u0000"),
  ),
  ownInstance: fc.boolean(),
  wait: fc.oneof(fc.constantFrom("-1", "0", "61", "x"), fc.integer({ min: 0, max: 0 }).map(String)),
  contentType: mediaTypes,
  accept: mediaTypes,
  body: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 200 }),
    fc.constantFrom("{", "[]", "null", "\u0000\u0001", "grant_type=client_credentials"),
  ),
});

describe.each(agentSpecOperations)("fuzz $method $path", (operation) => {
  it("never answers 500 or anything but the error envelope for an error", async () => {
    await fc.assert(
      fc.asyncProperty(fuzzed, async (input) => {
        const url = new URL(
          `${t.url}${fillPath(operation.path, (name) =>
            name === "instance" && input.ownInstance ? own.instance : input.pathValue,
          )}`,
        );
        // A long poll would hold the request: the property is about refusals, not waiting.
        url.searchParams.set("wait", input.wait);
        const sendsBody = operation.method !== "GET";
        const headers: Record<string, string> = { authorization: `Bearer ${ownToken}` };
        if (input.accept) headers.accept = input.accept;
        if (sendsBody && input.contentType) headers["content-type"] = input.contentType;
        const response = await fetch(url, {
          method: operation.method,
          headers,
          body: sendsBody ? input.body : undefined,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        expect(response.status).toBeLessThan(500);
        expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
        if (response.status >= 400) expect(isEnvelope(JSON.parse(text))).toBe(true);
      }),
      { numRuns: 8, seed: 20261126 },
    );
  });
});
