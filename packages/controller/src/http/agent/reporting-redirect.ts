import type { Request, Response } from "express";
import type { AgentOperationId } from "@stowage/agent-server";

/** The telemetry operations: what "reporting" names in the endpoint map. */
export const REPORTING_OPERATIONS: readonly AgentOperationId[] = [
  "getLogCapability",
  "postLog",
  "getTraceCapability",
  "postTraces",
  "postEvents",
];

const REPORTING_PATH = /^\/engines\/telemetry\/[^/]+\/(log|traces|events)$/;

/**
 * When reporting lives at another URL, its routes answer 301 with the same path there, before
 * authentication: the credentials are for that server, and the agent re-sends the same request.
 */
export function reportingRedirect(reportingUrl: string): (req: Request, res: Response) => boolean {
  const base = reportingUrl.endsWith("/") ? reportingUrl.slice(0, -1) : reportingUrl;
  return (req, res) => {
    if (!REPORTING_PATH.test(req.path)) return false;
    res.status(301).setHeader("location", base + req.originalUrl);
    res.end();
    return true;
  };
}
