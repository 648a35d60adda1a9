import createClient, {
  createFinalURL,
  createQuerySerializer,
  defaultPathSerializer,
  mergeHeaders,
  type Client,
  type Middleware,
} from "openapi-fetch";
import { isDirectCall, readCallResult, type DirectInit } from "./direct-call";
import { readErrorBody, StowageApiError } from "./errors";
import { encodeNdjson, parseNdjson } from "./ndjson-lines";
import type {
  CallInit,
  HttpMethod,
  OperationOf,
  ParamsInit,
  SuccessBody,
  SuccessMediaType,
} from "./operation-types";
import { PendingRequest } from "./pending-request";
import { REQUEST_ID_HEADER, send, type OutgoingRequest, type TransportOptions } from "./transport";

export interface StowageClientOptions extends TransportOptions {
  baseUrl: string;
  /** Sent with every call. */
  headers?: Record<string, string>;
  /** Validate each NDJSON item with its zod schema (default true). */
  validateItems?: boolean;
}

interface ItemParser {
  parse(value: unknown): unknown;
}
type ItemParsers = Record<string, Partial<Record<string, ItemParser>>>;
export interface ItemSchemas {
  responses: ItemParsers;
  requests: ItemParsers;
}

type ItemMap = Record<string, Partial<Record<HttpMethod, unknown>>>;

export interface CallResult<Data> {
  response: Response;
  data?: Data;
  error?: unknown;
}

export interface StowageClientExtensions<
  Paths,
  NdjsonResponses extends ItemMap,
  NdjsonRequests extends ItemMap,
> {
  /** Asks for one media type of a versioned resource; `data` is typed by that media type. */
  requestAs<
    M extends HttpMethod,
    P extends keyof Paths & string,
    Media extends SuccessMediaType<OperationOf<Paths, P, M>>,
  >(
    method: M,
    path: P,
    accept: Media,
    init: ParamsInit<OperationOf<Paths, P, M>> & CallInit & { body?: unknown },
  ): Promise<CallResult<SuccessBody<OperationOf<Paths, P, M>, Media>>>;
  /** An NDJSON response as typed items; breaking out of the loop closes the stream. */
  streamNdjson<
    P extends keyof NdjsonResponses & string,
    M extends keyof NdjsonResponses[P] & HttpMethod,
  >(
    method: M,
    path: P,
    init: ParamsInit<OperationOf<Paths, P & keyof Paths, M>> & CallInit & { body?: unknown },
  ): AsyncIterable<NdjsonResponses[P][M]>;
  /** Uploads NDJSON items from a factory, called again for each retry (a sent stream cannot be re-read). */
  uploadNdjson<
    P extends keyof NdjsonRequests & string,
    M extends keyof NdjsonRequests[P] & HttpMethod,
  >(
    method: M,
    path: P,
    init: ParamsInit<OperationOf<Paths, P & keyof Paths, M>> &
      CallInit & {
        items: () => AsyncIterable<NdjsonRequests[P][M]> | Iterable<NdjsonRequests[P][M]>;
      },
  ): Promise<CallResult<unknown>>;
  /** Uploads bytes (e.g. OTLP protobuf) from a factory, called again for each retry. */
  uploadBinary<M extends HttpMethod, P extends keyof Paths & string>(
    method: M,
    path: P,
    init: ParamsInit<OperationOf<Paths, P, M>> &
      CallInit & {
        contentType: string;
        body: () => ReadableStream<Uint8Array> | Uint8Array | Blob | string;
      },
  ): Promise<CallResult<unknown>>;
}

export type StowageClient<
  Paths extends object,
  NdjsonResponses extends ItemMap = Record<string, never>,
  NdjsonRequests extends ItemMap = Record<string, never>,
> = Client<Paths, `${string}/${string}`> &
  StowageClientExtensions<Paths, NdjsonResponses, NdjsonRequests>;

const querySerializer = createQuerySerializer();

const VERBS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"] as const;
type Verb = (typeof VERBS)[number];
type VerbCall = (path: string, init?: object) => Promise<CallResult<unknown>>;

export function createStowageClient<
  Paths extends object,
  NdjsonResponses extends ItemMap = Record<string, never>,
  NdjsonRequests extends ItemMap = Record<string, never>,
>(
  options: StowageClientOptions,
  itemSchemas: ItemSchemas = { responses: {}, requests: {} },
): StowageClient<Paths, NdjsonResponses, NdjsonRequests> {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  // openapi-fetch serializes bodies to strings, so one PendingRequest can be sent again on retry.
  const base = createClient<Paths>({
    baseUrl,
    headers: options.headers,
    Request: PendingRequest as unknown as typeof Request,
    fetch: (request) => send(() => request as unknown as PendingRequest, options),
  });
  const validateItems = options.validateItems !== false;
  // Middleware sees openapi-fetch's request, so once any is registered every call goes through
  // openapi-fetch. `eject` leaves it so: the flag only ever picks the slower path, never a wrong one.
  let middlewareUsed = false;

  const sendDirect = async (method: string, path: string, init: DirectInit | undefined) => {
    const params = init?.params ?? {};
    // openapi-fetch's own URL and header rules, so a direct call sends what it would have sent.
    const request: OutgoingRequest = {
      url: createFinalURL(path, {
        baseUrl,
        params,
        querySerializer,
        pathSerializer: defaultPathSerializer,
      }),
      method,
      headers:
        options.headers || init?.headers || params.header
          ? mergeHeaders(options.headers, init?.headers, params.header)
          : undefined,
      signal: init?.signal ?? null,
    };
    return readCallResult(await send(() => request, options), method);
  };
  const verbCalls = {} as Record<Verb, VerbCall>;
  for (const verb of VERBS) {
    const viaOpenapiFetch = base[verb] as unknown as VerbCall;
    verbCalls[verb] = (path, init) =>
      !middlewareUsed && isDirectCall(init)
        ? sendDirect(verb, path, init)
        : viaOpenapiFetch(path, init);
  }
  const viaOpenapiFetch = base.request as unknown as (
    method: string,
    ...call: Parameters<VerbCall>
  ) => ReturnType<VerbCall>;
  const baseUse = base.use;
  const calls = {
    ...verbCalls,
    request: (method: string, path: string, init?: object) =>
      !middlewareUsed && isDirectCall(init)
        ? sendDirect(method.toUpperCase(), path, init)
        : viaOpenapiFetch(method, path, init),
    use: (...middleware: Middleware[]) => {
      middlewareUsed = true;
      baseUse(...middleware);
    },
  };

  const buildRequest = (
    method: string,
    path: string,
    init: { params?: unknown; headers?: Record<string, string>; signal?: AbortSignal },
    body?: () => NonNullable<RequestInit["body"]>,
  ): OutgoingRequest => {
    const params = (init.params ?? {}) as {
      path?: Record<string, unknown>;
      query?: Record<string, unknown>;
      header?: Record<string, string>;
    };
    const url = createFinalURL(path, {
      baseUrl,
      params: { path: params.path, query: params.query },
      querySerializer,
      pathSerializer: defaultPathSerializer,
    });
    return {
      url,
      method: method.toUpperCase(),
      headers: new Headers({ ...options.headers, ...params.header, ...init.headers }),
      signal: init.signal,
      body: body?.(),
    };
  };

  const jsonBody = (value: unknown) =>
    value === undefined ? undefined : () => JSON.stringify(value);

  const finish = async (response: Response): Promise<CallResult<never>> => {
    if (!response.ok) return { response, error: await readErrorBody(response) };
    const text = response.status === 204 ? "" : await response.text();
    const type = response.headers.get("content-type") ?? "";
    return {
      response,
      data: (text !== "" && /json/.test(type) ? JSON.parse(text) : text || undefined) as never,
    };
  };

  const extensions: StowageClientExtensions<Paths, NdjsonResponses, NdjsonRequests> = {
    async requestAs(method, path, accept, init) {
      const headers = {
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...init.headers,
        accept,
      };
      return finish(
        await send(
          () => buildRequest(method, path, { ...init, headers }, jsonBody(init.body)),
          options,
        ),
      );
    },
    streamNdjson(method, path, init) {
      const parser = itemSchemas.responses[path]?.[method];
      return {
        async *[Symbol.asyncIterator]() {
          const headers = {
            ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
            ...init.headers,
            accept: "application/x-ndjson",
          };
          const response = await send(
            () => buildRequest(method, path, { ...init, headers }, jsonBody(init.body)),
            options,
          );
          if (!response.ok || !response.body) {
            throw new StowageApiError(
              response.status,
              await readErrorBody(response),
              response,
              response.headers.get(REQUEST_ID_HEADER) ?? undefined,
            );
          }
          for await (const value of parseNdjson(response.body)) {
            yield (validateItems && parser ? parser.parse(value) : value) as never;
          }
        },
      };
    },
    async uploadNdjson(method, path, init) {
      const parser = itemSchemas.requests[path]?.[method];
      const headers = { "content-type": "application/x-ndjson", ...init.headers };
      const body = () => encodeNdjson(validated(init.items(), validateItems ? parser : undefined));
      return finish(
        await send(() => buildRequest(method, path, { ...init, headers }, body), options),
      );
    },
    async uploadBinary(method, path, init) {
      const headers = { "content-type": init.contentType, ...init.headers };
      return finish(
        await send(() => buildRequest(method, path, { ...init, headers }, init.body), options),
      );
    },
  };
  return Object.assign(base, calls, extensions);
}

async function* validated<T>(
  items: AsyncIterable<T> | Iterable<T>,
  parser: ItemParser | undefined,
): AsyncGenerator<T> {
  for await (const item of items) yield (parser ? parser.parse(item) : item) as T;
}
