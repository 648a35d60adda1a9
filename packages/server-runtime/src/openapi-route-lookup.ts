import { createRequire } from "node:module";
import type { Request, RequestHandler } from "express";
import { error as validatorErrors } from "express-openapi-validator";

type PathToRegexp = (
  path: string,
  options: { sensitive: boolean; strict: boolean },
) => { regexp: RegExp; keys: { name: string }[] };

type OperationSchemas = Record<string, unknown>;

/** What express-openapi-validator 5.6 keeps of a spec (its `OpenApiContext`), as far as read here. */
export interface ValidatorContext {
  expressRouteMap: Record<string, { basePath: string; _openApiRoute: string }>;
  openApiRouteMap: Record<string, Record<string, unknown>>;
  apiDoc: { paths: Record<string, OperationSchemas> };
  serial: number;
  useRequestUrl: boolean;
  ignoreUndocumented: boolean;
  ignorePaths?: unknown;
  shouldIgnoreRoute(path: string): boolean;
  isManagedRoute(path: string): boolean;
}

interface Route {
  expressRoute: string;
  /**
   * The route's text before its first parameter or pattern character: a path it matches starts
   * with it, so most routes are passed over with a string comparison, not a regular expression.
   */
  literalPrefix: string;
  literalPrefixLower: string;
  openApiRoute: string;
  pathKey: string;
  /** One compiled matcher per routing mode (strict, case-sensitive), made at first use. */
  matchers: ({ regexp: RegExp; keys: string[] } | undefined)[];
}

/** A path's route and its parameters' values, decoded. */
interface Match {
  route: Route;
  values: string[];
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/**
 * Paths matched lately, per routing mode: past this many the memo starts over rather than track
 * use. Longer paths are matched every time, so the memo stays small whatever clients send.
 */
const MAX_REMEMBERED_PATHS = 1000;
const MAX_REMEMBERED_PATH_LENGTH = 512;

/**
 * The validator's metadata middleware (`applyOpenApiMetadata`): finds the request's route and
 * operation and sets `req.openapi` exactly as it does (first matching route in the spec's order;
 * a route without the method is 405; an unmatched path under a base path is 404). Its own
 * version walks every route with `Object.entries` and compiles a matcher for each on every
 * request (cdimascio/express-openapi-validator#1217): here the walk is prepared once, and a
 * path matched lately (a client polling the same resource) skips it.
 */
export function openapiRouteLookup(
  context: ValidatorContext,
  responseApiDoc: { paths: Record<string, OperationSchemas> } | undefined,
): RequestHandler {
  const compile = validatorPathToRegexp();
  const routes: Route[] = Object.entries(context.expressRouteMap).map(
    ([expressRoute, methods]) => ({
      expressRoute,
      literalPrefix: literalPrefixOf(expressRoute),
      literalPrefixLower: literalPrefixOf(expressRoute).toLowerCase(),
      openApiRoute: methods._openApiRoute,
      pathKey: methods._openApiRoute.substring(methods.basePath.length),
      matchers: [],
    }),
  );
  const matcherOf = (route: Route, sensitive: boolean, strict: boolean) => {
    const mode = (sensitive ? 2 : 0) + (strict ? 1 : 0);
    let matcher = route.matchers[mode];
    if (!matcher) {
      const compiled = compile(route.expressRoute, { sensitive, strict });
      matcher = { regexp: compiled.regexp, keys: compiled.keys.map((key) => key.name) };
      route.matchers[mode] = matcher;
    }
    return matcher;
  };

  const remembered: Map<string, Match>[] = [];
  const matchOf = (req: Request, path: string, sensitive: boolean, strict: boolean) => {
    const mode = (sensitive ? 2 : 0) + (strict ? 1 : 0);
    const paths = (remembered[mode] ??= new Map());
    let match = paths.get(path);
    if (match) return match;
    const comparable = sensitive ? path : path.toLowerCase();
    for (const route of routes) {
      if (!comparable.startsWith(sensitive ? route.literalPrefix : route.literalPrefixLower)) {
        continue;
      }
      const found = matcherOf(route, sensitive, strict).regexp.exec(path);
      if (!found) continue;
      try {
        match = { route, values: found.slice(1).map((value) => decodeURIComponent(value)) };
      } catch {
        throw new validatorErrors.BadRequest({ path: req.path, message: "malformed uri'" });
      }
      if (path.length <= MAX_REMEMBERED_PATH_LENGTH) {
        if (paths.size >= MAX_REMEMBERED_PATHS) paths.clear();
        paths.set(path, match);
      }
      return match;
    }
    return undefined;
  };

  // The path as the validator checks it against `ignorePaths` and its base paths.
  const basePathOf = (req: Request) =>
    req.path.startsWith(req.baseUrl) ? req.path : `${req.baseUrl}/${req.path}`;

  return (req, _res, next) => {
    if (context.ignorePaths !== undefined && context.shouldIgnoreRoute(basePathOf(req))) {
      return next();
    }
    const url = context.useRequestUrl ? req.url : req.originalUrl;
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method.toLowerCase();
    const sensitive = req.app.enabled("case sensitive routing");
    const strict = req.app.enabled("strict routing");
    const match = matchOf(req, path, sensitive, strict);
    if (match) {
      const { route, values } = match;
      const { keys } = matcherOf(route, sensitive, strict);
      // A new object per request: the request stage coerces it in place.
      const pathParams: Record<string, string> = {};
      for (let index = 0; index < keys.length; index++) pathParams[keys[index]] = values[index];
      const schema = context.apiDoc.paths[route.pathKey][method];
      if (!schema) {
        // A path that exists without this method.
        if (context.ignoreUndocumented) return next();
        throw new validatorErrors.MethodNotAllowed({
          path: req.path,
          message: `${req.method} method not allowed`,
          headers: {
            Allow: Object.keys(context.openApiRouteMap[route.openApiRoute])
              .filter((key) => HTTP_METHODS.has(key.toLowerCase()))
              .join(", "),
          },
        });
      }
      const openapi: Record<string, unknown> = {
        expressRoute: route.expressRoute,
        openApiRoute: route.openApiRoute,
        pathParams,
        schema,
        serial: context.serial,
      };
      if (responseApiDoc) openapi._responseSchema = responseApiDoc.paths[route.pathKey][method];
      (req as typeof req & { openapi: typeof openapi }).openapi = openapi;
      req.params = pathParams;
      return next();
    }
    if (context.isManagedRoute(basePathOf(req)) && !context.ignoreUndocumented) {
      throw new validatorErrors.NotFound({ path: req.path, message: "not found" });
    }
    next();
  };
}

/** Up to the first character path-to-regexp gives a meaning (a parameter, a group, a wildcard...). */
function literalPrefixOf(expressRoute: string): string {
  const special = expressRoute.search(/[:*?+!(){}[\]\\]/);
  return special === -1 ? expressRoute : expressRoute.slice(0, special);
}

/** The path-to-regexp the validator itself loads, so routes compile exactly as its own would. */
function validatorPathToRegexp(): PathToRegexp {
  const load = createRequire(require.resolve("express-openapi-validator"));
  return (load("path-to-regexp") as { pathToRegexp: PathToRegexp }).pathToRegexp;
}
