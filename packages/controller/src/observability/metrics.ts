import type { NextFunction, Request, Response } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface Metrics {
  registry: Registry;
  /** Counts and times every answered request by operation id and status. */
  middleware(req: Request, res: Response, next: NextFunction): void;
  /** Adds a gauge whose value is read from the store when Prometheus scrapes. */
  gauge(
    name: string,
    help: string,
    labelNames: string[],
    collect: () => { labels: Record<string, string>; value: number }[],
  ): void;
}

/** A registry per controller (not prom-client's global one), so tests can run several side by side. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "stowage_" });
  const requests = new Counter({
    name: "stowage_http_requests_total",
    help: "Requests answered, by operation and status.",
    labelNames: ["operation", "status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "stowage_http_request_duration_seconds",
    help: "Time to answer, by operation.",
    labelNames: ["operation"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return {
    registry,
    middleware(req, res, next) {
      const started = process.hrtime.bigint();
      res.once("finish", () => {
        const operation = operationIdOf(req) ?? "unmatched";
        requests.inc({ operation, status: String(res.statusCode) });
        latency.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    },
    gauge(name, help, labelNames, collect) {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const { labels, value } of collect()) this.set(labels, value);
        },
      });
    },
  };
}

/** express-openapi-validator records the matched operation on the request. */
export function operationIdOf(req: Request): string | undefined {
  return (req as Request & { openapi?: { schema?: { operationId?: string } } }).openapi?.schema
    ?.operationId;
}
