import { createRequire } from "node:module";

type PathToRegexp = (path: unknown, options?: object) => { regexp: RegExp; keys: unknown[] };

const CACHED = Symbol.for("stowage.cachedPathToRegexp");
/** A guard, not a working size: the keys are route templates, a spec's worth of them. */
const MAX_MATCHERS = 10_000;

/**
 * express-openapi-validator 5.6 finds a request's operation by compiling a path-to-regexp
 * matcher for every route it tries, on every request: about a third of its cost per request
 * here (cdimascio/express-openapi-validator#1217, "perf: cache route matchers", still open).
 * This caches the compiled matchers in the path-to-regexp module that the validator loads, which
 * is what that change does: `pathToRegexp` is a pure function of the template and its options,
 * and the validator only reads what it returns. Express's router uses `match` from the same
 * module, not `pathToRegexp`, so nothing else sees a difference. Idempotent.
 */
export function cacheValidatorRouteMatchers(): void {
  const load = createRequire(require.resolve("express-openapi-validator"));
  const library = load("path-to-regexp") as { pathToRegexp: PathToRegexp };
  const compile = library.pathToRegexp;
  if (CACHED in compile) return;
  const matchers = new Map<string, ReturnType<PathToRegexp>>();
  const cached: PathToRegexp = (path, options) => {
    const key = keyOf(path, options);
    if (key === undefined) return compile(path, options);
    let matcher = matchers.get(key);
    if (!matcher) {
      matcher = compile(path, options);
      if (matchers.size < MAX_MATCHERS) matchers.set(key, matcher);
    }
    return matcher;
  };
  library.pathToRegexp = Object.assign(cached, { [CACHED]: true });
}

/** A template and flat options (what the validator passes); anything else is not cached. */
function keyOf(path: unknown, options: object | undefined): string | undefined {
  if (typeof path !== "string") return undefined;
  let key = path;
  for (const [name, value] of Object.entries(options ?? {})) {
    if (typeof value === "object" || typeof value === "function") return undefined;
    key += `\u0000${name}=${String(value)}`;
  }
  return key;
}
