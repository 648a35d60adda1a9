import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from "express";
import { middlewareChain } from "../../../server-runtime/src/middleware-chain";
import { rememberingValidation, validatedQuery } from "../../../server-runtime/src/validation-memo";
import { openapiValidator } from "../../../server-runtime/src/validator-stages";

/**
 * The router calls express-openapi-validator's stages directly and finds routes with its own
 * prepared lookup: both must decide every request as the validator's installed middleware does.
 */
const spec = {
  openapi: "3.1.0",
  info: { title: "lookup", version: "1" },
  paths: {
    "/v1/items": {
      get: { operationId: "listItems", responses: { "200": { description: "ok" } } },
      post: { operationId: "addItem", responses: { "200": { description: "ok" } } },
    },
    "/v1/items/special": {
      get: { operationId: "special", responses: { "200": { description: "ok" } } },
    },
    "/v1/items/{item}": {
      parameters: [{ name: "item", in: "path", required: true, schema: { type: "string" } }],
      get: { operationId: "getItem", responses: { "200": { description: "ok" } } },
      delete: { operationId: "deleteItem", responses: { "200": { description: "ok" } } },
    },
    "/v1/items/{item}/parts/{part}": {
      parameters: [
        { name: "item", in: "path", required: true, schema: { type: "string" } },
        { name: "part", in: "path", required: true, schema: { type: "integer" } },
      ],
      get: { operationId: "getPart", responses: { "200": { description: "ok" } } },
    },
    "/v1/traced": {
      get: {
        operationId: "traced",
        parameters: [
          {
            name: "x-trace",
            in: "header",
            required: true,
            schema: { type: "integer", maximum: 5 },
          },
        ],
        responses: { "200": { description: "ok" } },
      },
    },
    "/v1/ping": {
      get: {
        operationId: "ping",
        parameters: [{ name: "n", in: "query", schema: { type: "integer", maximum: 5 } }],
        responses: { "200": { description: "ok" } },
      },
    },
  },
};

interface Decision {
  status: number;
  route?: string;
  openApiRoute?: string;
  params?: Record<string, string>;
  query?: unknown;
  allow?: string | null;
}

type Mode = "installed" | "stages";

async function start(mode: Mode): Promise<{ server: Server; url: string; direct: () => boolean }> {
  const validator = openapiValidator({
    apiSpec: structuredClone(spec) as never,
    validateRequests: { allErrors: true },
    validateResponses: false,
    validateSecurity: false,
    fileUploader: false,
  });
  const answer: RequestHandler = (req, res) => {
    const openapi = (req as Request & { openapi?: { expressRoute: string; openApiRoute: string } })
      .openapi;
    res.json({
      status: 200,
      route: openapi?.expressRoute,
      openApiRoute: openapi?.openApiRoute,
      params: req.params,
      query: validatedQuery(req),
    });
  };
  const onError: ErrorRequestHandler = (
    error: { status?: number; headers?: object },
    _req,
    res,
  ) => {
    res.status(error.status ?? 500).json({
      status: error.status ?? 500,
      allow: (error.headers as { Allow?: string } | undefined)?.Allow ?? null,
    });
  };
  let direct = false;
  const installed = middlewareChain([...validator.installed, answer], onError);
  const app = express();
  app.use((req, res, next) => {
    const stages = mode === "stages" ? validator.stages() : undefined;
    direct = stages !== undefined;
    const run = stages
      ? middlewareChain(
          [stages.metadata, stages.security, stages.multipart, stages.request, answer],
          onError,
        )
      : installed;
    run(req, res, next);
  });
  app.use((_req, res) => res.status(404).json({ status: 404 }));
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The first request loads the spec; the stages exist from then on.
  await (await fetch(`${url}/v1/ping`)).arrayBuffer();
  return { server, url, direct: () => direct };
}

const REQUESTS: [string, string][] = [
  ["GET", "/v1/items"],
  ["POST", "/v1/items"],
  ["PUT", "/v1/items"],
  ["GET", "/v1/items/special"],
  ["DELETE", "/v1/items/special"],
  ["GET", "/v1/items/abc"],
  ["DELETE", "/v1/items/a%20b"],
  ["GET", "/v1/items/%E0%A4%A"],
  ["GET", "/V1/Items/ABC"],
  ["GET", "/v1/items/abc/"],
  ["GET", "/v1/items/abc/parts/3"],
  ["GET", "/v1/items/abc/parts/three"],
  ["GET", "/v1/items/abc/parts"],
  ["GET", "/v1/nothing"],
  ["GET", "/elsewhere"],
  ["GET", "/v1/ping?n=3"],
  ["GET", "/v1/ping?n=9"],
  ["GET", "/v1/ping?x=1"],
];

describe("the validator's stages, called directly", () => {
  let installed: Awaited<ReturnType<typeof start>>;
  let stages: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    installed = await start("installed");
    stages = await start("stages");
  });
  afterAll(() => {
    installed.server.close();
    stages.server.close();
  });

  const decide = async (
    url: string,
    method: string,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<Decision> => {
    const response = await fetch(`${url}${path}`, { method, headers });
    return (await response.json()) as Decision;
  };

  it("are found on this version of express-openapi-validator", async () => {
    await decide(stages.url, "GET", "/v1/items");
    expect(stages.direct()).toBe(true);
  });

  it.each(REQUESTS)("decide %s %s as the installed middleware does", async (method, path) => {
    const expected = await decide(installed.url, method, path);
    const actual = await decide(stages.url, method, path);
    expect(stages.direct()).toBe(true);
    expect(actual).toEqual(expected);
  });

  it("decide a repeated request as the first time (the memo of passed requests)", async () => {
    for (const [method, path] of REQUESTS) {
      const expected = await decide(installed.url, method, path);
      const first = await decide(stages.url, method, path);
      const again = await decide(stages.url, method, path);
      expect({ request: `${method} ${path}`, first, again }).toEqual({
        request: `${method} ${path}`,
        first: expected,
        again: expected,
      });
    }
  });

  it("never reuse a verdict for an operation with header parameters", async () => {
    const valid = await decide(stages.url, "GET", "/v1/traced", { "x-trace": "3" });
    const invalid = await decide(stages.url, "GET", "/v1/traced", { "x-trace": "9" });
    expect(valid.status).toBe(200);
    expect(invalid.status).toBe(400);
  });

  it("never reuse a verdict for a request with a body", async () => {
    const body = JSON.stringify({ some: "thing" });
    const headers = { "content-type": "application/json" };
    const withBody = (url: string) =>
      fetch(`${url}/v1/items`, { method: "POST", headers, body }).then(
        async (response) => (await response.json()) as Decision,
      );
    expect(await withBody(stages.url)).toEqual(await withBody(installed.url));
    expect(await withBody(stages.url)).toEqual(await withBody(installed.url));
  });

  it("tell the cases apart", async () => {
    const decisions = await Promise.all(
      REQUESTS.map(([method, path]) => decide(stages.url, method, path)),
    );
    const byRequest = Object.fromEntries(
      REQUESTS.map(([method, path], index) => [`${method} ${path}`, decisions[index]]),
    );
    expect(byRequest["GET /v1/items/special"]).toMatchObject({ status: 200, params: {} });
    expect(byRequest["DELETE /v1/items/special"]).toMatchObject({ status: 405, allow: "GET" });
    expect(byRequest["DELETE /v1/items/a%20b"]).toMatchObject({
      status: 200,
      params: { item: "a b" },
    });
    expect(byRequest["GET /v1/items/%E0%A4%A"]).toMatchObject({ status: 400 });
    expect(byRequest["GET /v1/items/abc/parts/3"]).toMatchObject({
      status: 200,
      openApiRoute: "/v1/items/{item}/parts/{part}",
      params: { item: "abc", part: 3 },
    });
    expect(byRequest["GET /v1/items/abc/parts/three"]).toMatchObject({ status: 400 });
    expect(byRequest["GET /v1/nothing"]).toMatchObject({ status: 404 });
    expect(byRequest["GET /v1/ping?n=9"]).toMatchObject({ status: 400 });
    expect(byRequest["GET /v1/ping?x=1"]).toMatchObject({ status: 400 });
  });
});

describe("the memo of passed requests", () => {
  let server: Server;
  let url: string;
  let validations = 0;
  beforeAll(async () => {
    const parameters = [{ $ref: "#/components/parameters/Item" }, { in: "query" }];
    const document = { components: { parameters: { Item: { in: "path" } } } };
    type Routed = Request & { openapi?: { schema: object; pathParams: Record<string, unknown> } };
    // As the route lookup: `req.params` and `req.openapi.pathParams` are one object.
    const lookup: RequestHandler = (req, _res, next) => {
      const pathParams = { item: req.path.split("/")[2] };
      (req as Routed).openapi = { schema: { parameters }, pathParams };
      req.params = pathParams;
      next();
    };
    // As the validator's request stage: `query` an own property, values coerced in place.
    const stage: RequestHandler = (req, _res, next) => {
      validations++;
      if (req.query.bad !== undefined) throw Object.assign(new Error("bad"), { status: 400 });
      Object.defineProperty(req, "query", { value: { n: Number(req.query.n) }, writable: true });
      req.params.item = String(req.params.item).toUpperCase();
      next();
    };
    const answer: RequestHandler = (req, res) => {
      res.json({ query: validatedQuery(req), params: (req as Routed).openapi?.pathParams });
    };
    const onError: ErrorRequestHandler = (error: { status?: number }, _req, res, _next) => {
      res.status(error.status ?? 500).json({ status: error.status });
    };
    const app = express();
    app.use(express.json());
    app.use(middlewareChain([lookup, rememberingValidation(stage, document), answer], onError));
    server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  const get = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, init);
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it("validates a URL once and hands back what the stage left", async () => {
    const before = validations;
    const first = await get("/items/a?n=1");
    const again = await get("/items/a?n=1");
    expect(first).toEqual({ status: 200, body: { query: { n: 1 }, params: { item: "A" } } });
    expect(again).toEqual(first);
    expect(validations - before).toBe(1);
    await get("/items/a?n=2");
    expect(validations - before).toBe(2);
  });

  it("validates every refusal and every request with a body", async () => {
    const before = validations;
    expect((await get("/items/b?bad=1")).status).toBe(400);
    expect((await get("/items/b?bad=1")).status).toBe(400);
    const post = () =>
      get("/items/c?n=3", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    expect(validations - before).toBe(4);
  });
});
