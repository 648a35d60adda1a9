import type { NextFunction, Request, Response } from "express";
import type { Logger } from "./logger";
import { operationIdOf } from "./metrics";

/**
 * One line per request, written when the answer is sent, with the request id the router assigned.
 * It names the operation and path template, never headers, query values or bodies, which may carry secrets.
 */
export function requestLog(logger: Logger) {
  // Its fields are fixed and none can hold a secret: redaction (wildcard paths walked on every
  // line, most of pino's cost per line) has nothing to find here.
  const lines = logger.child({}, { redact: { paths: [] } });
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once("close", () => {
      lines.info(
        {
          request_id: res.getHeader("x-request-id"),
          method: req.method,
          operation: operationIdOf(req) ?? null,
          status: res.statusCode,
          duration_ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
          completed: res.writableFinished,
        },
        "request",
      );
    });
    next();
  };
}
