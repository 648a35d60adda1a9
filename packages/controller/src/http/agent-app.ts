import type { RequestHandler } from "express";
import { createAgentRouter, operationDescriptors, type AgentHandlers } from "@stowage/agent-server";
import type { StowageRouter } from "@stowage/server-runtime";
import type { Logger } from "../observability/logger";
import { AccessTokens } from "../services/access-tokens";
import { AgentAuthenticator } from "../services/agent-authentication";
import { AgentEventsService } from "../services/agent-events/agent-events-service";
import { LogIngestion } from "../services/agent-logs/log-ingestion";
import type { AgentPrincipal } from "../services/agent-principal";
import { AgentTokenService } from "../services/agent-tokens";
import type { Stores } from "../services/control-context";
import { endpointMap } from "../services/endpoint-map";
import { IdempotencyService } from "../services/idempotency";
import type { IdentitySeedVault } from "../services/identity-seed-vault";
import { JobWaiters } from "../services/job-waiters";
import type { JobsService } from "../services/jobs-service";
import type { SigningKeyRing } from "../services/signing-keys";
import { TokenRateLimit } from "../services/token-rate-limit";
import { IdempotencyStore } from "../store/idempotency-store";
import { configHandlers } from "./agent/config";
import { discoveryHandlers } from "./agent/discovery";
import { identityHandlers } from "./agent/identity";
import { jobHandlers } from "./agent/jobs";
import { reportingRedirect, REPORTING_OPERATIONS } from "./agent/reporting-redirect";
import { telemetryHandlers } from "./agent/telemetry";
import { traceHandlers } from "./agent/traces";

export interface AgentApiOptions {
  stores: Stores;
  jobs: JobsService;
  keys: SigningKeyRing;
  logger: Logger;
  /** This controller's URL as agents reach it (token `aud`, endpoint map). */
  publicUrl: () => string;
  /** Reporting served here, turned off (410), or living at another URL (301). */
  reporting: "here" | "off" | { url: string };
  accessTokenLifetimeSeconds: number;
  tokenRequestsPerMinute: number;
  /** The largest log submission accepted (413 beyond). */
  logMaxBytes: number;
  /** The largest OTLP trace export accepted, as the trace capability announces it. */
  traceMaxBytes: number;
  /** The certificate served over HTTPS: client certificates (`mtls`) can then be presented, and v1 configs pin it. */
  tlsCertificatePem?: string;
  /** Opens issued identities' seeds for mysql-backup's telemetry credentials. */
  seedVault?: IdentitySeedVault;
  validateResponses: boolean;
}

export interface AgentApi {
  /** Mount before the control API: it answers every path under `/engines` and no other. */
  middleware: RequestHandler;
  router: StowageRouter;
  waiters: JobWaiters;
  /** Where run events enter, whatever carried them (postEvents, OTLP spans). */
  agentEvents: AgentEventsService;
}

const CONFIG_MEDIA_TYPES = operationDescriptors.getConfig.negotiation.produces;

export function createAgentApi(options: AgentApiOptions): AgentApi {
  const { stores, logger } = options;
  const reportingUrl = typeof options.reporting === "object" ? options.reporting.url : undefined;
  const endpoints = () => endpointMap(options.publicUrl(), reportingUrl);
  const accessTokens = new AccessTokens(options.keys, {
    lifetimeSeconds: options.accessTokenLifetimeSeconds,
    publicUrl: options.publicUrl,
  });
  const tokens = new AgentTokenService(stores, accessTokens, {
    tokenUrl: () => endpoints().token,
    rateLimit: new TokenRateLimit(
      options.tokenRequestsPerMinute,
      tokenBurst(options.tokenRequestsPerMinute),
    ),
    logger,
  });
  const waiters = new JobWaiters(stores);
  const authenticator = new AgentAuthenticator(stores, accessTokens);
  const agentEvents = new AgentEventsService(stores, options.jobs);
  const { traceMaxBytes } = options;
  const logs = new LogIngestion(
    stores,
    options.jobs,
    new IdempotencyService(stores.db, new IdempotencyStore(stores.db)),
  );
  // Staged chunks left by a previous process (killed mid-request) are never committed.
  logs.discardAbandoned();

  const handlers: Partial<AgentHandlers<AgentPrincipal>> = {
    ...discoveryHandlers({
      endpoints,
      accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds,
      mtls: options.tlsCertificatePem !== undefined,
      configMediaTypes: CONFIG_MEDIA_TYPES,
    }),
    ...identityHandlers({ stores, tokens, keys: options.keys, endpoints }),
    ...jobHandlers(options.jobs, waiters),
    ...configHandlers({
      stores,
      jobs: options.jobs,
      publicUrl: options.publicUrl,
      reporting: options.reporting,
      tlsCertificatePem: options.tlsCertificatePem,
      seedVault: options.seedVault,
    }),
    ...telemetryHandlers({
      logs,
      events: agentEvents,
      endpoints,
      logMaxBytes: options.logMaxBytes,
      traceMaxBytes,
    }),
    ...traceHandlers({ events: agentEvents, maxBodyBytes: traceMaxBytes }),
  };
  // Reporting turned off: its operations have no handler, and the router answers them 410.
  if (options.reporting !== "here")
    for (const operation of REPORTING_OPERATIONS) delete handlers[operation];

  const router = createAgentRouter<AgentPrincipal>(handlers, {
    authenticate: ({ scheme, req }) => authenticator.authenticate(scheme, req),
    validateResponses: options.validateResponses,
    logger: {
      error: (details, message) => logger.error(details, message),
      warn: (details, message) => logger.warn(details, message),
    },
  });
  const redirect = reportingUrl ? reportingRedirect(reportingUrl) : undefined;
  const middleware: RequestHandler = (req, res, next) => {
    if (req.path !== "/engines" && !req.path.startsWith("/engines/")) return next();
    if (redirect?.(req, res)) return;
    router(req, res, next);
  };
  return { middleware, router, waiters, agentEvents };
}

/** A burst of ten seconds' worth of the rate, and at least 10: an agent's start-up needs a few. */
function tokenBurst(perMinute: number): number {
  return Math.max(10, Math.ceil(perMinute / 6));
}
