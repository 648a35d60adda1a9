import express, { type Express, type RequestHandler } from "express";
import {
  createControlRouter,
  openapiDocument,
  type ControlHandlers,
} from "@stowage/control-server";
import { ApiError, type StowageRouter } from "@stowage/server-runtime";
import { absolutePath as swaggerUiPath } from "swagger-ui-dist";
import { stringify } from "yaml";
import type { AgentEndpoint } from "../services/agents-service";
import type { Stores } from "../services/control-context";
import { grants, type OperatorPrincipal } from "../services/principal";
import { JobsService } from "../services/jobs-service";
import { DeploymentsService } from "../services/deployments-service";
import { TargetsService } from "../services/targets-service";
import { TenantsService } from "../services/tenants-service";
import { TokensService } from "../services/tokens-service";
import type { Clock } from "../services/clock";
import { DoctorService } from "../services/doctor";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import { requestLog } from "../observability/request-log";
import { registerCatalogMetrics } from "../observability/catalog-metrics";
import { IdempotencyService } from "../services/idempotency";
import { IdempotencyStore } from "../store/idempotency-store";
import { DOCS_INIT_SCRIPT } from "./docs-page";
import { withIdempotency } from "./idempotent-handlers";
import { streamErrorFrame } from "./stream-error-frame";
import { agentHandlers } from "./control/agents";
import { auditHandlers } from "./control/audit";
import { catalogHandlers } from "./control/catalog";
import { deploymentHandlers } from "./control/deployments";
import { tellingDeploymentChanges } from "./control/deployment-changes";
import { doctorHandlers } from "./control/doctor";
import { enrollmentHandlers } from "./control/enrollments";
import { metaHandlers } from "./control/meta";
import { targetHandlers } from "./control/targets";
import { tenantHandlers } from "./control/tenants";
import { tokenHandlers } from "./control/tokens";

export interface ControlAppOptions {
  stores: Stores;
  logger: Logger;
  metrics: Metrics;
  version: string;
  /** Validate every response against the spec (tests always do). */
  validateResponses: boolean;
  readiness: () => { name: "store" | "signing_key" | "scheduler"; ok: boolean; message?: string }[];
  /** The URL and certificate agents see, for enrollments and issued identities. */
  agentEndpoint?: AgentEndpoint;
  /** The controller's one job state machine (its lease settings); a default one otherwise. */
  jobs?: JobsService;
  /** Told after a deployment is created, changed or deleted: the scheduler re-plans at once. */
  onDeploymentsChanged?: () => void;
  /** The doctor's time (the scheduler's clock); the system clock otherwise. */
  clock?: Clock;
  /** The agent API (`/engines`), sharing this app's request log and metrics. */
  agentApi?: RequestHandler;
}

export interface ControlApp {
  app: Express;
  router: StowageRouter;
  tokens: TokensService;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

export function createControlApp(options: ControlAppOptions): ControlApp {
  const { stores, logger, metrics } = options;
  const tokens = new TokensService(stores);
  const tenants = new TenantsService(stores);
  const jobs = options.jobs ?? new JobsService(stores);
  const handlers: Partial<ControlHandlers<OperatorPrincipal>> = {
    ...metaHandlers({
      version: options.version,
      specYaml: stringify(openapiDocument),
      startedAt: new Date().toISOString(),
      registry: metrics.registry,
      readiness: options.readiness,
    }),
    ...tenantHandlers(tenants),
    ...tokenHandlers(tokens),
    ...auditHandlers(stores.audit, stores.auditLog),
    ...enrollmentHandlers(stores, options.agentEndpoint),
    ...agentHandlers(stores, options.agentEndpoint, jobs),
    ...targetHandlers(new TargetsService(stores)),
    ...tellingDeploymentChanges(
      deploymentHandlers(new DeploymentsService(stores)),
      options.onDeploymentsChanged,
    ),
    ...catalogHandlers(stores, jobs),
    ...doctorHandlers(new DoctorService(stores, jobs.settings, options.clock)),
  };
  registerCatalogMetrics(metrics, stores, jobs.settings);

  const idempotency = new IdempotencyService(stores.db, new IdempotencyStore(stores.db));
  const router = createControlRouter<OperatorPrincipal>(withIdempotency(handlers, idempotency), {
    authenticate: ({ scheme, req }) => {
      if (scheme !== "bearer") return undefined;
      const header = req.get("authorization");
      if (header === undefined) return undefined;
      const secret = BEARER.exec(header)?.[1];
      if (!secret)
        throw new ApiError(
          401,
          "auth.invalid_token",
          "The Authorization header is not a bearer token.",
        );
      return tokens.authenticate(secret);
    },
    authorize: ({ principal, verb }) => grants(principal, verb),
    validateResponses: options.validateResponses,
    ndjsonErrorFrame: streamErrorFrame,
    logger: {
      error: (details, message) => logger.error(details, message),
      warn: (details, message) => logger.warn(details, message),
    },
  });

  const docsAssets = express.Router();
  docsAssets.get("/docs/assets/docs-init.js", (_req, res) => {
    res.type("text/javascript").send(DOCS_INIT_SCRIPT);
  });
  docsAssets.use(
    "/docs/assets",
    express.static(swaggerUiPath(), { index: false, fallthrough: false }),
  );
  const log = requestLog(logger);
  const { agentApi } = options;

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // One handler that picks the part of the app, not a layer each: express matches every layer's
  // path on every request, a measurable share of a fast API call.
  app.use((req, res, next) => {
    log(req, res, () =>
      metrics.middleware(req, res, () => {
        if (req.path.startsWith("/docs/assets/")) docsAssets(req, res, next);
        else if (agentApi)
          agentApi(req, res, (error?: unknown) => (error ? next(error) : router(req, res, next)));
        else router(req, res, next);
      }),
    );
  });
  return { app, router, tokens };
}
