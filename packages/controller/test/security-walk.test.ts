import { fillPath, isEnvelope, specOperations } from "./spec-operations";
import { startTestController, type TestController } from "./test-controller";

/**
 * Derived from the spec: every secured operation refuses a request without credentials (401)
 * and a token lacking its verb (403, even when the body is invalid too), with the error envelope.
 */
let t: TestController;
const tokensByVerb = new Map<string, string>();

beforeAll(async () => {
  t = await startTestController();
});
afterAll(() => t.stop());

async function tokenWithout(verb: string): Promise<string> {
  const granted = verb === "audit:read" ? "backup:read" : "audit:read";
  const cached = tokensByVerb.get(granted);
  if (cached) return cached;
  const { data } = await t
    .client()
    .POST("/v1/tokens", { body: { name: `only-${granted}`, verbs: [granted] as never } });
  const secret = data?.result.secret ?? "";
  tokensByVerb.set(granted, secret);
  return secret;
}

const secured = specOperations.filter((operation) => operation.secured);

it("walks every secured operation of the spec", () => {
  expect(secured.length).toBeGreaterThan(40);
  expect(secured.every((operation) => operation.verb)).toBe(true);
});

describe.each(secured)("$method $path ($operationId)", (operation) => {
  const url = () => `${t.url}${fillPath(operation.path, (name) => `missing-${name}`)}`;
  const invalidBody = operation.hasBody
    ? {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ "not-a-field": [1, 2, 3] }),
      }
    : {};

  it("answers 401 with the envelope without credentials", async () => {
    const response = await fetch(url(), { method: operation.method, ...invalidBody });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { code: string } };
    expect(isEnvelope(body)).toBe(true);
    expect(body.error.code).toBe("auth.required");
  });

  it("answers 403 authz.denied to a token without its verb, before looking at the body", async () => {
    const token = await tokenWithout(operation.verb ?? "");
    const response = await fetch(url(), {
      method: operation.method,
      ...invalidBody,
      headers: {
        ...("headers" in invalidBody ? invalidBody.headers : {}),
        authorization: `Bearer ${token}`,
      },
    });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: { code: string } };
    expect(isEnvelope(body)).toBe(true);
    expect(body.error.code).toBe("authz.denied");
  });
});
