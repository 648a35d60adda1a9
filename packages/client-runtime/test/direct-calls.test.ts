import {
  createStowageClient,
  StowageApiError,
  type StowageClientOptions,
} from "@stowage/client-runtime";

/** Just enough of an openapi-typescript `paths` for bodyless calls with every kind of parameter. */
interface TestPaths {
  "/things/{id}": {
    parameters: { query?: never; header?: never; path: { id: string }; cookie?: never };
    get: Operation;
    head: Operation;
    delete: Operation;
  };
}

interface Operation {
  parameters: {
    query?: { limit?: number; tags?: string[]; filter?: Record<string, string> };
    header?: { "x-tenant"?: string };
    path: { id: string };
    cookie?: never;
  };
  requestBody?: never;
  responses: {
    200: { headers: { [name: string]: unknown }; content: { "application/json": unknown } };
    204: { headers: { [name: string]: unknown }; content?: never };
    404: { headers: { [name: string]: unknown }; content: { "application/json": unknown } };
  };
}

interface Sent {
  url: string;
  method: string | undefined;
  headers: Record<string, string>;
  signal: AbortSignal | null | undefined;
}

/** A client over a stub fetch that records what it is asked to send and answers `answer()`. */
function stubbed(answer: () => Response, options: Partial<StowageClientOptions> = {}) {
  const sent: Sent[] = [];
  const client = createStowageClient<TestPaths>({
    baseUrl: "http://api.test/v1/",
    headers: { "X-Client": "stowage", "x-dropped": "by the call" },
    auth: { getToken: () => "token-1" },
    requestId: () => "id-1",
    ...options,
    fetch: async (url, init) => {
      sent.push({
        url,
        method: init.method,
        headers: Object.fromEntries(new Headers(init.headers)),
        signal: init.signal,
      });
      return answer();
    },
  });
  return { client, sent };
}

/** The same client with a middleware that changes nothing: every call then goes through openapi-fetch. */
function throughOpenapiFetch(answer: () => Response, options: Partial<StowageClientOptions> = {}) {
  const stub = stubbed(answer, options);
  stub.client.use({ onRequest: () => undefined });
  return stub;
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () => {
    const text = JSON.stringify(body);
    return new Response(text, {
      status,
      headers: {
        "content-type": "application/json",
        "content-length": String(text.length),
        ...headers,
      },
    });
  };

const answers: [string, () => Response][] = [
  ["a JSON body with a length", json(200, { id: "a" })],
  [
    "a chunked JSON body",
    () => new Response('{"id":"b"}', { headers: { "content-type": "application/json" } }),
  ],
  ["an empty chunked body", () => new Response("", { status: 200 })],
  ["204", () => new Response(null, { status: 204 })],
  ["a zero length", () => new Response("", { headers: { "content-length": "0" } })],
  ["a JSON error", json(404, { error: { code: "resource.not_found", message: "No." } })],
  ["a text error", () => new Response("upstream down", { status: 502 })],
  ["an empty error", () => new Response("", { status: 500 })],
];

describe("bodyless calls sent without openapi-fetch", () => {
  it.each(answers)("reads %s as openapi-fetch does", async (_name, answer) => {
    const direct = stubbed(answer);
    const reference = throughOpenapiFetch(answer);
    const [viaDirect, viaReference] = await Promise.all(
      [direct, reference].map(({ client }) =>
        client.GET("/things/{id}", { params: { path: { id: "1" } } }),
      ),
    );
    expect({ data: viaDirect.data, error: viaDirect.error }).toStrictEqual({
      data: viaReference.data,
      error: viaReference.error,
    });
    expect(viaDirect.response.status).toBe(viaReference.response.status);
    expect(direct.sent).toEqual(reference.sent);
  });

  it("sends the URL and headers openapi-fetch would", async () => {
    const controller = new AbortController();
    const call = {
      params: {
        path: { id: "a b/c" },
        query: { limit: 5, tags: ["x", "y"], filter: { kind: "full" } },
        header: { "x-tenant": "acme" },
      },
      headers: { "Accept-Language": "fr", "X-Dropped": null },
      signal: controller.signal,
    };
    const direct = stubbed(json(200, {}));
    const reference = throughOpenapiFetch(json(200, {}));
    await direct.client.DELETE("/things/{id}", call);
    await reference.client.DELETE("/things/{id}", call);
    expect(direct.sent).toEqual(reference.sent);
    expect(direct.sent[0]).toEqual({
      url: "http://api.test/v1/things/a%20b%2Fc?limit=5&tags=x&tags=y&filter[kind]=full",
      method: "DELETE",
      headers: {
        "accept-language": "fr",
        authorization: "Bearer token-1",
        "x-client": "stowage",
        "x-request-id": "id-1",
        "x-tenant": "acme",
      },
      signal: controller.signal,
    });
  });

  it("sends the request id and token alone when the call has no header of its own", async () => {
    const direct = stubbed(json(200, {}), { headers: undefined });
    const reference = throughOpenapiFetch(json(200, {}), { headers: undefined });
    for (const { client } of [direct, reference]) {
      await client.GET("/things/{id}", { params: { path: { id: "1" } } });
    }
    expect(direct.sent).toEqual(reference.sent);
    expect(direct.sent[0].headers).toEqual({
      authorization: "Bearer token-1",
      "x-request-id": "id-1",
    });
  });

  it("reads no body for HEAD, and takes `request(method, ...)` the same way", async () => {
    const { client, sent } = stubbed(json(200, { ignored: true }));
    const head = await client.HEAD("/things/{id}", { params: { path: { id: "1" } } });
    expect(head.data).toBeUndefined();
    const viaRequest = await client.request("get", "/things/{id}", {
      params: { path: { id: "1" } },
    });
    expect(viaRequest.data).toEqual({ ignored: true });
    expect(sent.map((call) => call.method)).toEqual(["HEAD", "GET"]);
  });

  it("keeps the caller's request id and authorization", async () => {
    const { client, sent } = stubbed(json(200, {}));
    await client.GET("/things/{id}", {
      params: { path: { id: "1" } },
      headers: { "X-Request-Id": "trace-7", Authorization: "Basic abc" },
    });
    expect(sent[0].headers).toMatchObject({
      "x-request-id": "trace-7",
      authorization: "Basic abc",
    });
  });

  it("asks for a fresh token once after a 401, and retries a 503 with the same request id", async () => {
    const statuses = [401, 503, 200];
    const asked: boolean[] = [];
    const { client, sent } = stubbed(
      () => json(statuses.shift() ?? 500, {}, { "retry-after": "0" })(),
      {
        auth: {
          getToken: async ({ forceRefresh }) => (asked.push(forceRefresh), `t${asked.length}`),
        },
        // No header of the call's own: the refresh and the retry resend the plain record.
        headers: undefined,
        requestId: undefined,
      },
    );
    const { response } = await client.GET("/things/{id}", { params: { path: { id: "1" } } });
    expect(response.status).toBe(200);
    expect(asked).toEqual([false, true, false]);
    expect(sent.map((call) => call.headers.authorization)).toEqual([
      "Bearer t1",
      "Bearer t2",
      "Bearer t3",
    ]);
    expect(new Set(sent.map((call) => call.headers["x-request-id"])).size).toBe(1);
  });

  it("throws a StowageApiError when throwOnError is on", async () => {
    const { client } = stubbed(
      json(404, { error: { code: "resource.not_found", message: "No." } }),
      {
        throwOnError: true,
      },
    );
    await expect(
      client.GET("/things/{id}", { params: { path: { id: "1" } } }),
    ).rejects.toMatchObject({
      constructor: StowageApiError,
      status: 404,
      requestId: "id-1",
    });
  });

  it("rejects, rather than throws, a query openapi-fetch cannot serialize", async () => {
    const { client, sent } = stubbed(json(200, {}));
    const nested = { path: { id: "1" }, query: { tags: [{}] as unknown as string[] } };
    const call = client.GET("/things/{id}", { params: nested });
    await expect(call).rejects.toThrow(/Deeply-nested/);
    expect(sent).toEqual([]);
  });

  it("leaves calls with openapi-fetch options to openapi-fetch", async () => {
    const { client } = stubbed(json(200, { id: "a" }));
    const { data } = await client.GET("/things/{id}", {
      params: { path: { id: "1" } },
      parseAs: "text",
    });
    expect(data).toBe('{"id":"a"}');
  });
});
