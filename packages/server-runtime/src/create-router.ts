import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import { ApiError, codeForStatus } from "./api-error";
import { readNdjsonBody, type LineSchema } from "./ndjson-body";
import { compileLineSchemas } from "./ndjson-line-schemas";
import { SerializedJson } from "./serialized-json";
import { isPlaceholder } from "./not-implemented";
import { negotiateMedia, type Negotiation } from "./negotiate-media";
import { writeNdjson } from "./ndjson-writer";
import { renderError, type ErrorSchema } from "./render-error";
import { middlewareChain } from "./middleware-chain";
import { STATE, state, type StatefulRequest } from "./request-state";
import { validatedQuery } from "./validation-memo";
import { validatorDocument } from "./validator-document";
import { openapiValidator } from "./validator-stages";

export interface OperationDescriptor {
  method: string;
  path: string;
  verb?: string;
  security: readonly Readonly<Record<string, readonly string[]>>[];
  requestBody?: { media: readonly { type: string; ndjsonItem?: string; binary: boolean }[] };
  responses: readonly {
    status: number | "default";
    media: readonly { type: string; ndjsonItem?: string; binary: boolean }[];
  }[];
  negotiation: Negotiation;
}

export interface ApiDefinition {
  document: Record<string, unknown>;
  operations: Readonly<Record<string, OperationDescriptor>>;
  schemas: Readonly<Record<string, LineSchema>>;
  errorSchema: ErrorSchema;
}

export interface Logger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface AuthenticateInput {
  /** The security scheme's name in the spec, e.g. `jwt`, `mtls`, `bearer`. */
  scheme: string;
  type: string;
  req: Request;
}

export interface StowageRouterOptions<Principal> {
  /** Who is calling, by scheme; `undefined` (or a thrown 401 ApiError) means 401. Without it security is not checked. */
  authenticate?: (
    input: AuthenticateInput,
  ) => Principal | undefined | Promise<Principal | undefined>;
  /** Whether the principal holds the operation's `x-stowage-verb`; false means 403 (before the body is validated). */
  authorize?: (input: {
    principal: Principal;
    verb: string;
    operationId: string;
    req: Request;
  }) => boolean | Promise<boolean>;
  /** Validate every response against the spec (tests always ask): a reply that breaks it becomes a 500. */
  validateResponses?: boolean;
  /** Largest JSON or form body accepted (default 1 MiB); streamed bodies are the handler's to limit. */
  bodyLimit?: number;
  logger?: Logger;
  /** The final frame of an NDJSON stream whose producer failed. */
  ndjsonErrorFrame?: (error: ApiError, requestId: string) => unknown;
}

/** Mounted with `app.use(router)`: one handler, not an express Router (see middlewareChain). */
export type StowageRouter = RequestHandler & {
  /** Resolves once the validator has loaded the spec, so the first real request does not pay for it. */
  ready(): Promise<void>;
};

type RuntimeHandler = (context: HandlerCall) => unknown;
interface ReplyShape {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string | number | readonly string[]>;
}

const JSON_TYPES = ["application/json", "application/*+json"];
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createStowageRouter<Principal>(
  api: ApiDefinition,
  handlers: object,
  options: StowageRouterOptions<Principal>,
): StowageRouter {
  const table = handlers as Partial<Record<string, RuntimeHandler>>;
  const operationOf = (req: Request) => {
    const id = (req as Request & { openapi?: { schema?: { operationId?: string } } }).openapi
      ?.schema?.operationId;
    return id === undefined ? undefined : { id, descriptor: api.operations[id] };
  };

  const lineSchemas = ndjsonLineSchemas(api);
  const validator = openapiValidator({
    apiSpec: validatorDocument(api.document) as never,
    validateRequests: { allErrors: true },
    validateResponses: options.validateResponses ? { allErrors: true } : false,
    validateSecurity: options.authenticate ? { handlers: securityHandlers(api, options) } : false,
    // Formats are the contract's: a date-time that is not RFC 3339 is a 400, not a pass.
    validateFormats: true,
    ignoreUndocumented: false,
    // Without multipart bodies in the spec, multer and its own ajv compile of the spec are waste.
    fileUploader: acceptsMultipart(api) ? {} : false,
  });

  const authorize: RequestHandler = async (req, _res, next) => {
    try {
      const operation = operationOf(req);
      const verb = operation?.descriptor?.verb;
      if (verb && options.authorize && options.authenticate) {
        const allowed = await options.authorize({
          principal: state(req).principal as Principal,
          verb,
          operationId: operation.id,
          req,
        });
        if (!allowed)
          throw new ApiError(403, "authz.denied", `These credentials lack the verb ${verb}.`);
      }
      next();
    } catch (error) {
      next(error);
    }
  };

  const implemented: RequestHandler = (req, _res, next) => {
    const operation = operationOf(req);
    if (operation && (!table[operation.id] || isPlaceholder(table[operation.id]))) {
      return next(
        new ApiError(410, "resource.gone", `This server does not implement ${operation.id}.`),
      );
    }
    next();
  };

  const negotiate: RequestHandler = (req, res, next) => {
    const descriptor = operationOf(req)?.descriptor;
    if (!descriptor || descriptor.negotiation.produces.length === 0) return next();
    const chosen = negotiateMedia(req.get("accept"), descriptor.negotiation);
    if (descriptor.negotiation.produces.length > 1) res.vary("Accept");
    if (!chosen) {
      const served = [
        ...descriptor.negotiation.produces,
        ...Object.keys(descriptor.negotiation.aliases),
      ];
      return next(
        new ApiError(
          406,
          "request.not_acceptable",
          `None of the accepted media types can be served.`,
          {
            suggestion: { human: `Ask for one of: ${served.join(", ")}.` },
          },
        ),
      );
    }
    state(req).negotiated = chosen;
    next();
  };

  const dispatch: RequestHandler = async (req, res, next) => {
    const operation = operationOf(req);
    const handler = operation && table[operation.id];
    if (!operation?.descriptor || !handler)
      return next(new ApiError(404, "resource.not_found", "No such route."));
    try {
      const { principal, negotiated, requestId } = state(req);
      const context = new HandlerCall(
        (req as Request & { openapi?: { pathParams?: Record<string, string> } }).openapi
          ?.pathParams ?? req.params,
        validatedQuery(req),
        req.headers,
        requestBody(req, operation.descriptor, lineSchemas),
        principal,
        negotiated?.media,
        requestId,
        req,
        res,
      );
      const reply = (await handler.call(table, context)) as ReplyShape;
      await sendReply(req, res, reply, operation.descriptor);
    } catch (error) {
      next(error);
    }
  };

  const sendReply = async (
    req: Request,
    res: Response,
    reply: ReplyShape,
    descriptor: OperationDescriptor,
  ) => {
    res.status(reply.status);
    for (const [name, value] of Object.entries(reply.headers ?? {}))
      res.setHeader(name, value as string | string[]);
    if (reply.body === undefined) {
      res.end();
      return;
    }
    const documented =
      descriptor.responses.find((response) => response.status === reply.status)?.media ?? [];
    const negotiated = state(req).negotiated;
    const media =
      reply.contentType ?? negotiated?.media ?? documented[0]?.type ?? "application/json";
    const contentType = negotiated && negotiated.media === media ? negotiated.contentType : media;
    const entry = documented.find((candidate) => candidate.type === media);
    // A reply may name parameters of the documented type (e.g. `text/plain; version=0.0.4`).
    const own = String(res.getHeader("content-type") ?? "");
    if (own.split(";")[0].trim().toLowerCase() !== contentType.toLowerCase()) {
      res.setHeader("content-type", contentType);
    }
    if (entry?.ndjsonItem) {
      const requestId = state(req).requestId;
      await writeNdjson(res, reply.body as AsyncIterable<unknown>, {
        schema: options.validateResponses ? api.schemas[entry.ndjsonItem] : undefined,
        onInvalidFrame: (issues) =>
          options.logger?.error({ requestId, issues }, "NDJSON frame breaks the contract"),
        errorFrame: options.ndjsonErrorFrame
          ? (error) =>
              options.ndjsonErrorFrame?.(toApiError(error, options.logger, requestId), requestId)
          : undefined,
      });
    } else if (reply.body instanceof Readable) {
      reply.body.pipe(res);
      await once(res, "close");
    } else if (reply.body instanceof Uint8Array || typeof reply.body === "string") {
      res.end(reply.body);
    } else if (reply.body instanceof SerializedJson) {
      if (options.validateResponses) {
        // The response validator checks what goes through `res.json`.
        res.json(JSON.parse(reply.body.bytes.toString("utf8")));
      } else {
        // The charset `res.json` would add, then the bytes as they are.
        const type = String(res.getHeader("content-type"));
        if (!/;\s*charset=/i.test(type)) res.setHeader("content-type", `${type}; charset=utf-8`);
        writeParts(req, res, reply.body);
      }
    } else {
      res.json(reply.body);
    }
  };

  const requestId: RequestHandler = (req, res, next) => {
    const sent = req.get("x-request-id");
    const id = sent && REQUEST_ID.test(sent) ? sent : randomUUID();
    (req as StatefulRequest)[STATE] = { requestId: id };
    res.setHeader("x-request-id", id);
    next();
  };
  const parseBody = bodyParsers(options.bodyLimit ?? 1024 * 1024);
  const onError: ErrorRequestHandler = (error, req, res) => {
    sendError(req, res, error, api.errorSchema, options.logger);
  };
  // Until the validator has loaded the spec (the first request, or `ready()`), its middleware as
  // it installs itself; then its stages directly.
  const installed = middlewareChain(
    [requestId, parseBody, ...validator.installed.slice(0, 3), authorize, implemented, negotiate]
      .concat(validator.installed.slice(3))
      .concat(dispatch),
    onError,
  );
  let direct: RequestHandler | undefined;
  const handle: RequestHandler = (req, res, next) => {
    const stages = direct ? undefined : validator.stages();
    if (stages) {
      direct = middlewareChain(
        [
          requestId,
          parseBody,
          stages.metadata,
          stages.security,
          authorize,
          implemented,
          negotiate,
          stages.multipart,
          stages.request,
          stages.response,
          dispatch,
        ],
        onError,
      );
    }
    (direct ?? installed)(req, res, next);
  };
  return Object.assign(handle, { ready: () => warmUp(handle) });
}

/** JSON and form bodies parsed; a request without a body (most GETs) skips both parsers. */
function bodyParsers(limit: number): RequestHandler {
  const json = express.json({ type: JSON_TYPES, limit });
  const form = express.urlencoded({ extended: false, limit });
  return (req, res, next) => {
    // type-is's test for a body, as the parsers themselves make it.
    const length = req.headers["content-length"];
    if (req.headers["transfer-encoding"] === undefined && (length === undefined || isNaN(+length)))
      return next();
    json(req, res, (error?: unknown) => (error ? next(error) : form(req, res, next)));
  };
}

/**
 * What a handler is called with (`HandlerContext`, typed per operation). A class, so `signal` is
 * a getter on its prototype: an object literal with a getter gets a hidden class of its own on
 * every request.
 */
class HandlerCall {
  constructor(
    readonly params: unknown,
    readonly query: unknown,
    readonly headers: IncomingHttpHeaders,
    readonly body: unknown,
    readonly principal: unknown,
    readonly accept: string | undefined,
    readonly requestId: string,
    readonly req: Request,
    readonly res: Response,
  ) {}

  get signal(): AbortSignal {
    return clientLeft(this.res);
  }
}

/**
 * Aborted when the client leaves before the answer is complete. Made when a handler first asks:
 * most never do, and a signal and a listener per request are a measurable share of a fast one.
 */
const CLIENT_LEFT = Symbol("stowage.clientLeft");
function clientLeft(res: Response & { [CLIENT_LEFT]?: AbortController }): AbortSignal {
  let controller = res[CLIENT_LEFT];
  if (!controller) {
    const made = new AbortController();
    res[CLIENT_LEFT] = controller = made;
    if (res.closed) {
      if (!res.writableFinished) made.abort();
    } else {
      res.once("close", () => {
        if (!res.writableFinished) made.abort();
      });
    }
  }
  return controller.signal;
}

/** A serialized body written part by part in one flush, with its length (no chunked encoding). */
function writeParts(req: Request, res: Response, body: SerializedJson<unknown>): void {
  res.setHeader("content-length", body.byteLength);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const { parts } = body;
  res.cork();
  for (let index = 0; index < parts.length - 1; index++) res.write(parts[index]);
  res.end(parts[parts.length - 1]);
}

function acceptsMultipart(api: ApiDefinition): boolean {
  return Object.values(api.operations).some((operation) =>
    operation.requestBody?.media.some((media) => media.type === "multipart/form-data"),
  );
}

function securityHandlers<Principal>(api: ApiDefinition, options: StowageRouterOptions<Principal>) {
  const schemes =
    (api.document.components as { securitySchemes?: Record<string, { type: string }> } | undefined)
      ?.securitySchemes ?? {};
  return Object.fromEntries(
    Object.entries(schemes).map(([scheme, definition]) => [
      scheme,
      async (req: Request) => {
        try {
          const principal = await options.authenticate?.({ scheme, type: definition.type, req });
          if (principal === undefined) return false;
          state(req).principal = principal;
          return true;
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) state(req).authFailure ??= error;
          else throw error;
          return false;
        }
      },
    ]),
  );
}

/** The validators of the items of NDJSON request bodies, by schema name. */
function ndjsonLineSchemas(api: ApiDefinition): ReadonlyMap<string, LineSchema> {
  const names = new Set<string>();
  for (const descriptor of Object.values(api.operations))
    for (const media of descriptor.requestBody?.media ?? [])
      if (media.ndjsonItem) names.add(media.ndjsonItem);
  return (
    compileLineSchemas(api.document, names) ??
    new Map([...names].map((name) => [name, api.schemas[name]]))
  );
}

function requestBody(
  req: Request,
  descriptor: OperationDescriptor,
  lineSchemas: ReadonlyMap<string, LineSchema>,
): unknown {
  if (!descriptor.requestBody) return req.body;
  const type = (req.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const media = descriptor.requestBody.media.find((entry) => entry.type === type);
  if (media?.ndjsonItem) return readNdjsonBody(req, lineSchemas.get(media.ndjsonItem));
  if (media?.binary) return req;
  return req.body;
}

interface ValidatorError {
  status?: number;
  message?: string;
  errors?: { path?: string; message?: string }[];
  type?: string;
}

/** Every failure becomes an ApiError: the validator's, the body parser's, and anything unexpected. */
function toApiError(error: unknown, logger: Logger | undefined, requestId: string): ApiError {
  if (error instanceof ApiError) return error;
  const candidate = (error ?? {}) as ValidatorError;
  const status =
    typeof candidate.status === "number" && candidate.status >= 400 && candidate.status < 600
      ? candidate.status
      : 500;
  if (status >= 500) {
    logger?.error({ requestId, err: error }, "request failed");
    return new ApiError(500, "internal", "An internal error occurred.");
  }
  if (candidate.type === "entity.too.large") {
    return new ApiError(413, "request.too_large", "The request body is over the size limit.");
  }
  if (candidate.type === "entity.parse.failed") {
    return new ApiError(400, "request.invalid", "The request body is not valid JSON.", {
      details: [{ path: "/body", message: "is not valid JSON" }],
    });
  }
  const details = (candidate.errors ?? []).map((detail) => ({
    path: normalizePath(detail.path ?? ""),
    message: detail.message ?? "is invalid",
  }));
  const message =
    status === 400
      ? "The request does not match the API contract."
      : (candidate.message ?? "Request refused.");
  return new ApiError(
    status,
    codeForStatus(status),
    message,
    details.length > 0 && status === 400 ? { details } : {},
  );
}

/** `.body.name` and `/body/name` both become `/body/name`. */
function normalizePath(path: string): string {
  const slashed = path.startsWith(".") ? path.replace(/\./g, "/") : path;
  return slashed.startsWith("/") ? slashed : `/${slashed}`;
}

function sendError(
  req: Request,
  res: Response,
  error: unknown,
  schema: ErrorSchema,
  logger: Logger | undefined,
): void {
  const requestState = state(req);
  let apiError = toApiError(error, logger, requestState.requestId);
  // The validator's own 401 says nothing useful; a 401 the hook or a handler raised is kept as is.
  if (apiError.status === 401 && !(error instanceof ApiError)) {
    apiError =
      requestState.authFailure ??
      new ApiError(401, "auth.required", "This operation needs valid credentials.");
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(apiError.status);
  for (const [name, value] of Object.entries(apiError.headers ?? {})) res.setHeader(name, value);
  res.setHeader("content-type", "application/json");
  // `res.json` is wrapped by the response validator when it is on: an undocumented error status
  // then becomes a 500, which is how a test learns the spec forgot to document it.
  res.json(renderError(apiError, schema, requestState.requestId));
}

async function warmUp(router: RequestHandler): Promise<void> {
  const app = express();
  app.use(router);
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const { port } = server.address() as AddressInfo;
    // A path no spec has: answered 404 once the validator has loaded and indexed the spec.
    const response = await fetch(`http://127.0.0.1:${port}/.well-known/stowage-warm-up`);
    await response.arrayBuffer();
  } finally {
    server.close();
  }
}
