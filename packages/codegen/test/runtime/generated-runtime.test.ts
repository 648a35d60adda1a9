import { createHash } from "node:crypto";
import { Agent, type Dispatcher } from "undici";
import { StowageApiError } from "@stowage/client-runtime";
import { createFixtureClient } from "../fixture-client/src/generated/client";
import { startFixtureServer, type FixtureServer } from "./fixture-server";

let server: FixtureServer;
beforeAll(async () => {
  server = await startFixtureServer();
});
afterAll(() => server.close());

const writer = () =>
  createFixtureClient({ baseUrl: server.url, auth: { getToken: () => "writer-token" } });
const reader = () =>
  createFixtureClient({ baseUrl: server.url, auth: { getToken: () => "reader-token" } });
const anonymous = () => createFixtureClient({ baseUrl: server.url, retry: false });

const newItem = {
  name: "whiskers",
  pet: { kind: "cat" as const, lives: 9 },
  tags: ["a"],
  note: null,
  labels: { x: "y" },
};

describe("refusals, in the order the design fixes", () => {
  it("answers 401 with the envelope when there are no credentials", async () => {
    const { response, error } = await anonymous().GET("/items");
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ schema: "stowage.v1", error: { code: "auth.required" } });
    expect(error?.error.request_id).toBe(response.headers.get("x-request-id"));
  });

  it("answers 401 auth.invalid_token for a token it does not know", async () => {
    const client = createFixtureClient({ baseUrl: server.url, auth: { getToken: () => "forged" } });
    const { response, error } = await client.GET("/items");
    expect(response.status).toBe(401);
    expect(error?.error.code).toBe("auth.invalid_token");
  });

  it("answers 403 before 400: a principal without the verb sending an invalid body", async () => {
    const { response, error } = await reader().POST("/items", { body: { name: "" } as never });
    expect(response.status).toBe(403);
    expect(error?.error.code).toBe("authz.denied");
  });

  it("answers 400 with every problem in details", async () => {
    const { response, error } = await writer().POST("/items", {
      body: { name: "", pet: { kind: "cat", lives: 12 } },
    });
    expect(response.status).toBe(400);
    expect(error?.error.code).toBe("request.invalid");
    const paths = (error?.error.details ?? []).map((detail) => detail.path);
    expect(paths).toEqual(expect.arrayContaining(["/body/name"]));
    expect(paths.some((path) => path.startsWith("/body/pet"))).toBe(true);
  });

  it("answers 415 for a body in a media type the operation does not take", async () => {
    const response = await fetch(`${server.url}/items`, {
      method: "POST",
      headers: { authorization: "Bearer writer-token", "content-type": "text/plain" },
      body: "hello",
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({
      error: { code: "request.unsupported_media_type" },
    });
  });

  it("answers 410 for a documented operation without a handler", async () => {
    const { response, error } = await anonymous().GET("/unimplemented");
    expect(response.status).toBe(410);
    expect(error?.error.code).toBe("resource.gone");
  });

  it("answers 404 with the envelope for a route the spec does not have", async () => {
    const response = await fetch(`${server.url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      schema: "stowage.v1",
      error: { code: "resource.not_found" },
    });
  });
});

describe("typed calls", () => {
  it("creates an item with a discriminated union and reads it back", async () => {
    const { data, response } = await writer().POST("/items", { body: newItem });
    expect(response.status).toBe(201);
    expect(data).toMatchObject({ name: "whiskers", pet: { kind: "cat", lives: 9 } });
    const list = await reader().GET("/items", { params: { query: { limit: 5 } } });
    expect(list.data?.items.map((item) => item.name)).toContain("whiskers");
  });

  it("throws a typed error with status and body when throwOnError is on", async () => {
    const client = createFixtureClient({
      baseUrl: server.url,
      throwOnError: true,
      auth: { getToken: () => "reader-token" },
    });
    const failure = await client
      .GET("/items/{id}", { params: { path: { id: "missing" } } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StowageApiError);
    expect((failure as StowageApiError).status).toBe(404);
    expect((failure as StowageApiError).body).toMatchObject({
      error: { code: "resource.not_found" },
    });
  });

  it("refreshes the token once after a 401", async () => {
    const asked: boolean[] = [];
    const client = createFixtureClient({
      baseUrl: server.url,
      auth: {
        getToken: ({ forceRefresh }) => (
          asked.push(forceRefresh),
          forceRefresh ? "reader-token" : "expired"
        ),
      },
    });
    const { response } = await client.GET("/items");
    expect(response.status).toBe(200);
    expect(asked).toEqual([false, true]);
  });

  it("keeps the caller's request id", async () => {
    const { response } = await reader().GET("/items", { headers: { "x-request-id": "trace-42" } });
    expect(response.headers.get("x-request-id")).toBe("trace-42");
  });
});

describe("media type negotiation", () => {
  let id: string;
  beforeAll(async () => {
    id = (await writer().POST("/items", { body: newItem })).data?.id ?? "";
  });
  const get = (accept?: string) =>
    fetch(`${server.url}/items/${id}`, {
      headers: { authorization: "Bearer reader-token", ...(accept ? { accept } : {}) },
    });

  it.each([
    [undefined, "application/vnd.fixture.item.v1+json", false],
    ["*/*", "application/vnd.fixture.item.v1+json", false],
    ["application/vnd.fixture.item.v2+json", "application/vnd.fixture.item.v2+json", true],
    ["application/vnd.fixture.item+json", "application/vnd.fixture.item.v2+json", true],
    ["application/json", "application/json", false],
    ["application/vnd.legacy.item+json", "application/vnd.legacy.item+json", false],
    [
      "application/vnd.fixture.item.v2+json;q=0.4, application/vnd.fixture.item.v1+json",
      "application/vnd.fixture.item.v1+json",
      false,
    ],
    [
      "text/html;q=0.9, application/vnd.fixture.item.v2+json;q=0.8",
      "application/vnd.fixture.item.v2+json",
      true,
    ],
  ])("Accept %s is served as %s", async (accept, contentType, full) => {
    const response = await get(accept);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain(contentType);
    expect(response.headers.get("vary")).toContain("Accept");
    const body = (await response.json()) as Record<string, unknown>;
    expect("pet" in body).toBe(full);
  });

  it("answers 406 with a suggestion when nothing acceptable is served", async () => {
    const response = await get("text/csv");
    expect(response.status).toBe(406);
    const body = (await response.json()) as {
      error: { code: string; suggestion: { human: string } };
    };
    expect(body.error.code).toBe("request.not_acceptable");
    expect(body.error.suggestion.human).toContain("application/vnd.fixture.item.v2+json");
  });

  it("types the body by the media type asked for", async () => {
    const { data } = await reader().requestAs(
      "get",
      "/items/{id}",
      "application/vnd.fixture.item.v2+json",
      {
        params: { path: { id } },
      },
    );
    expect(data?.pet.kind).toBe("cat");
  });
});

describe("NDJSON", () => {
  it("streams a response as typed items", async () => {
    const ops: string[] = [];
    for await (const event of reader().streamNdjson("get", "/events", {})) ops.push(event.op);
    expect(ops.slice(0, 3)).toEqual(["created", "deleted", "created"]);
  });

  it("uploads items from a factory and reads them back", async () => {
    const { response, data } = await writer().uploadNdjson("post", "/events", {
      items: () => [
        { id: "u1", op: "created" as const },
        { id: "u2", op: "deleted" as const, body: { reason: "test" } },
      ],
    });
    expect(response.status).toBe(201);
    expect(data).toEqual({ count: 2 });
    const ids: string[] = [];
    for await (const event of reader().streamNdjson("get", "/events", {})) ids.push(event.id);
    expect(ids).toEqual(expect.arrayContaining(["u1", "u2"]));
  });

  it("answers 400 naming the line that breaks the contract", async () => {
    const response = await fetch(`${server.url}/events`, {
      method: "POST",
      headers: { authorization: "Bearer writer-token", "content-type": "application/x-ndjson" },
      body: '{"id":"ok","op":"created"}\n{"id":"bad","op":"exploded"}\n',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { details: { path: string }[] } };
    expect(body.error.details[0].path).toBe("/body/2/op");
  });
});

describe("retries", () => {
  it("retries a POST after 429, waiting Retry-After, and re-sends the same body", async () => {
    const started = Date.now();
    const { data, response } = await anonymous()
      .POST("/flaky", { body: { message: "hello" } })
      .catch(() => ({ data: undefined, response: undefined }));
    // retry: false on the anonymous client: it sees the 429 itself.
    expect(response?.status).toBe(429);
    expect(response?.headers.get("retry-after")).toBe("1");
    expect(data).toBeUndefined();
    server.flakyBodies.length = 0;

    const retrying = createFixtureClient({ baseUrl: server.url });
    const retried = await retrying.POST("/flaky", { body: { message: "again" } });
    expect(retried.data).toEqual({ message: "again", attempt: 2 });
    expect(server.flakyBodies).toEqual([{ message: "again" }, { message: "again" }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe("response validation", () => {
  it("turns a reply that breaks the spec into a 500 and logs why", async () => {
    server.breakContract.on = true;
    try {
      const { response, error } = await reader().GET("/items");
      expect(response.status).toBe(500);
      expect(error?.error.code).toBe("internal");
      expect(JSON.stringify(error)).not.toMatch(/stack|at .*\.ts/);
      expect(server.loggedErrors.length).toBeGreaterThan(0);
    } finally {
      server.breakContract.on = false;
    }
  });
});

describe("uploads from streams, timeouts and dispatchers", () => {
  it("uploads bytes from a stream factory", async () => {
    const chunks = [Buffer.from("hello "), Buffer.from("world")];
    const { response, data } = await anonymous().uploadBinary("post", "/blobs", {
      contentType: "application/octet-stream",
      body: () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
            controller.close();
          },
        }),
    });
    expect(response.status).toBe(201);
    expect(data).toEqual({
      bytes: 11,
      sha256: createHash("sha256").update("hello world").digest("hex"),
    });
  });

  it("aborts an attempt after timeoutMs, and the server sees the client go away", async () => {
    const client = createFixtureClient({ baseUrl: server.url, timeoutMs: 100, retry: false });
    const failure = await client
      .GET("/slow", { params: { query: { ms: 2000 } } })
      .catch((error: unknown) => error);
    expect((failure as Error).name).toBe("TimeoutError");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.slowCalls.at(-1)).toEqual({ aborted: true });
  });

  it("stops at once when the caller's AbortSignal fires", async () => {
    const controller = new AbortController();
    const pending = anonymous().GET("/slow", {
      params: { query: { ms: 2000 } },
      signal: controller.signal,
    });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("sends through the undici dispatcher it is given", async () => {
    let dispatched = 0;
    class CountingAgent extends Agent {
      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
        dispatched++;
        return super.dispatch(options, handler);
      }
    }
    const dispatcher = new CountingAgent();
    try {
      const client = createFixtureClient({ baseUrl: server.url, dispatcher });
      const { response } = await client.GET("/slow", { params: { query: { ms: 0 } } });
      expect(response.status).toBe(200);
      expect(dispatched).toBe(1);
    } finally {
      await dispatcher.close();
    }
  });
});
