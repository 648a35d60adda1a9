import type { Request, RequestHandler } from "express";

/**
 * Where a remembered verdict leaves the query. Setting `req.query` itself (Express 5 makes it a
 * getter, so it takes a property definition) cost more than the rest of a remembered verdict.
 */
export const VALIDATED_QUERY = Symbol("stowage.validatedQuery");

type QueryHolder = Request & { [VALIDATED_QUERY]?: unknown };

/**
 * The query as the request stage leaves it (each parameter parsed by its style and coerced),
 * whether it was validated now or its verdict remembered.
 */
export function validatedQuery(req: Request): unknown {
  return (req as QueryHolder)[VALIDATED_QUERY] ?? req.query;
}

/** Verdicts kept at once; past this the memo starts over rather than track use. */
const MAX_ENTRIES = 1000;

interface Passed {
  query: unknown;
  params: Record<string, unknown>;
}

interface Parameter {
  in?: string;
  $ref?: string;
}
interface OperationSchema {
  parameters?: readonly Parameter[];
}

/**
 * express-openapi-validator's request stage, remembering the requests it passed. For a request
 * without a body, to an operation without header or cookie parameters, its verdict and what it
 * leaves behind (the query parsed by each parameter's style and coerced, the path parameters
 * coerced) depend on the method, the URL and the content type only, so a request that repeats
 * one already passed (a dashboard polling a page, an agent its config) gets the same values
 * without validating them again. Anything else, and every refusal, goes through the stage.
 */
export function rememberingValidation(stage: RequestHandler, apiDoc: object): RequestHandler {
  const passed = new Map<string, Passed>();
  const eligibleSchemas = new WeakMap<object, boolean>();
  const eligible = (req: Request): boolean => {
    const length = req.headers["content-length"];
    if (req.headers["transfer-encoding"] !== undefined) return false;
    if (length !== undefined && length !== "0") return false;
    const schema = (req as Request & { openapi?: { schema?: OperationSchema } }).openapi?.schema;
    if (!schema) return false;
    let verdict = eligibleSchemas.get(schema);
    if (verdict === undefined) {
      // The validator has merged path-level parameters into the operation's by now.
      verdict = (schema.parameters ?? []).every((parameter) => {
        const location = (parameter.$ref ? resolveLocal(apiDoc, parameter.$ref) : parameter)?.in;
        return location === "path" || location === "query";
      });
      eligibleSchemas.set(schema, verdict);
    }
    return verdict;
  };

  return (req, res, next) => {
    if (!eligible(req)) return stage(req, res, next);
    const key = `${req.method} ${req.headers["content-type"] ?? ""} ${req.originalUrl}`;
    const known = passed.get(key);
    if (known) {
      // What the stage would leave: the query (read with `validatedQuery`), the path parameters
      // coerced. Copies, so a handler cannot alter the memo.
      (req as QueryHolder)[VALIDATED_QUERY] = copyOf(known.query);
      // In place: the route lookup's `req.openapi.pathParams` is this same object.
      Object.assign(req.params, copyOf(known.params));
      return next();
    }
    stage(req, res, (error?: unknown) => {
      if (error === undefined || error === null) {
        if (passed.size >= MAX_ENTRIES) passed.clear();
        passed.set(key, {
          query: copyOf(req.query),
          params: copyOf(req.params) as Record<string, unknown>,
        });
      }
      next(error);
    });
  };
}

/** A `#/...` reference in the validator's document (anything else: `undefined`, so not eligible). */
function resolveLocal(document: object, ref: string): Parameter | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = document;
  for (const token of ref.slice(2).split("/")) {
    const key = decodeURIComponent(token).replace(/~1/g, "/").replace(/~0/g, "~");
    node =
      typeof node === "object" && node !== null
        ? (node as Record<string, unknown>)[key]
        : undefined;
  }
  return typeof node === "object" && node !== null ? (node as Parameter) : undefined;
}

/** A deep copy of parsed parameters (objects, arrays, scalars): cheaper than structuredClone. */
function copyOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyOf);
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const key in value) copy[key] = copyOf((value as Record<string, unknown>)[key]);
  return copy;
}
