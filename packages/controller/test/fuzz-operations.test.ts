import fc from "fast-check";
import { fillPath, isEnvelope, specOperations } from "./spec-operations";
import { startTestController, type TestController } from "./test-controller";

/**
 * Spec-driven fuzzing: every operation gets invalid bodies, parameters and media types. Whatever
 * arrives, the answer is never a 500, never a stack trace, and every error is the envelope.
 */
let t: TestController;
beforeAll(async () => {
  t = await startTestController();
});
afterAll(() => t.stop());

const mediaTypes = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/x-ndjson",
    "text/plain",
    "application/xml",
    "application/vnd.stowage.agent-config.v9+json",
    "*/*",
    "",
  ),
  fc.stringMatching(/^[a-z]{1,8}\/[a-z0-9.+-]{1,12}(;q=0\.[0-9])?$/),
);
const queryValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.constantFrom("-1", "0", "1001", "true", "null", "%00"),
);

const request = fc.record({
  pathValue: fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.constantFrom("..", "%2e%2e", "' OR 1=1 --", "\u0000"),
  ),
  query: fc.dictionary(
    fc.constantFrom(
      "limit",
      "marker",
      "state",
      "kind",
      "since",
      "deployment",
      "x",
      "include_deleted",
    ),
    queryValue,
    { maxKeys: 3 },
  ),
  contentType: mediaTypes,
  accept: mediaTypes,
  body: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 200 }),
    fc.constantFrom("{", "[]", "null", '{"name": 1, "verbs": "admin:*"}', "\u0000\u0001"),
  ),
});

describe.each(specOperations)("$method $path", (operation) => {
  it("never answers 500 or anything but the error envelope for an error", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const url = new URL(`${t.url}${fillPath(operation.path, () => input.pathValue)}`);
        // A follow stream would stay open: the property is about refusals, not about waiting.
        for (const [key, value] of Object.entries(input.query)) url.searchParams.set(key, value);
        url.searchParams.delete("follow");
        const sendsBody = operation.method !== "GET" && operation.method !== "DELETE";
        const headers: Record<string, string> = { authorization: `Bearer ${t.adminToken}` };
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
        if (response.status >= 400) {
          const parsed = JSON.parse(text) as unknown;
          expect(isEnvelope(parsed)).toBe(true);
        }
      }),
      { numRuns: 6, seed: 20261126 },
    );
  });
});
