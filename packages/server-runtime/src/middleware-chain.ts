import type { ErrorRequestHandler, RequestHandler } from "express";

/**
 * Middleware run in order as one handler. Express's router would match a path and build a layer
 * frame for each of them on every request; these all apply to every request, so a plain index
 * walks them. As in Express 5, a throw or a rejected promise is `next(error)`; an error skips
 * the rest and goes to `onError`; passing the end goes on to the enclosing router.
 */
export function middlewareChain(
  handlers: readonly (RequestHandler | undefined)[],
  onError: ErrorRequestHandler,
): RequestHandler {
  const stages = handlers.filter((handler): handler is RequestHandler => handler !== undefined);
  return (req, res, done) => {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== null) {
        index = stages.length;
        onError(error, req, res, done);
        return;
      }
      const stage = stages[index++];
      if (!stage) return done();
      try {
        const result: unknown = stage(req, res, next);
        if (result instanceof Promise) result.catch(next);
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}
