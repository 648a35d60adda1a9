import { once } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { ControllerConfig } from "./config/controller-config";
import { createControlApp } from "./http/control-app";
import { createLogger, type Logger } from "./observability/logger";
import { createMetrics } from "./observability/metrics";
import { bootstrapAdmin } from "./services/bootstrap-admin";
import { createStores } from "./services/control-context";
import { HistoryPruner } from "./services/history-retention";
import { DEFAULT_JOB_SETTINGS, JobsService } from "./services/jobs-service";
import { Scheduler } from "./services/scheduler";
import { checkpoint, openDatabase } from "./store/database";

export const CONTROLLER_VERSION = "0.1.0";

export interface RunningController {
  url: string;
  /** Where the first start wrote the admin token, if this start was the first. */
  adminTokenFile?: string;
  logger: Logger;
  /** The job state machine: what the agent API's handlers (and, until then, tests) drive jobs through. */
  jobs: JobsService;
  /** Turns schedules into backup jobs; `wake()` re-plans at once. */
  scheduler: Scheduler;
  /** Stop accepting, let in-flight requests finish (up to the grace period), checkpoint, close. */
  close(): Promise<void>;
}

export async function startController(
  config: ControllerConfig,
  logger = createLogger({ level: config.logLevel }),
): Promise<RunningController> {
  const db = openDatabase(config.database);
  const stores = createStores(db);
  const jobs = new JobsService(stores, {
    ...DEFAULT_JOB_SETTINGS,
    leaseMs: config.jobLeaseMs,
    maxActivePerDeployment: config.maxJobsPerDeployment,
  });
  const scheduler = new Scheduler(stores, jobs, {
    clock: config.clock,
    logger: logger.child({ component: "scheduler" }),
  });
  const metrics = createMetrics();
  const { app, router, tokens } = createControlApp({
    stores,
    jobs,
    logger,
    metrics,
    version: CONTROLLER_VERSION,
    validateResponses: config.validateResponses,
    readiness: () => [storeCheck(db), scheduler.readiness()],
    onDeploymentsChanged: () => scheduler.wake(),
    clock: config.clock,
    // `url` is known once listening (below); requests, the only callers, come after that.
    agentEndpoint: {
      publicUrl: () => url,
      tlsCertificatePem:
        config.tlsCert && config.tlsKey ? readFileSync(config.tlsCert, "utf8") : undefined,
    },
  });
  const adminTokenFile = bootstrapAdmin(stores, tokens, config.dataDir);
  if (adminTokenFile)
    logger.info(
      { file: adminTokenFile },
      "first start: created an admin:* token; its secret is in this file (mode 0600)",
    );
  await router.ready();

  const server =
    config.tlsCert && config.tlsKey
      ? https.createServer(
          { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) },
          app,
        )
      : http.createServer(app);
  server.listen(config.port, config.host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const scheme = config.tlsCert && config.tlsKey ? "https" : "http";
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `${scheme}://${host}:${port}`;
  logger.info({ url, database: config.database }, "controller listening");
  const stopLeaseSweeper = jobs.startLeaseSweeper((error) =>
    logger.error({ err: error }, "lease expiry sweep failed"),
  );
  const stopPruner = new HistoryPruner(stores, {
    eventDays: config.eventRetentionDays,
    logDays: config.logRetentionDays,
    auditDays: config.auditRetentionDays,
    jobDays: config.jobRetentionDays,
    batchSize: config.retentionBatchSize,
    intervalMs: config.retentionIntervalMs,
  }).start(
    (pruned) => logger.info({ pruned }, "retention removed old history"),
    (error) => logger.error({ err: error }, "retention pass failed"),
  );
  // After listening, like the sweeper: its first pass may queue the catch-up of a downtime.
  scheduler.start();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      stopLeaseSweeper();
      // Before the database closes: no retention batch starts after this.
      stopPruner();
      scheduler.stop();
      // Follow streams end with their final frame now, rather than holding shutdown for the grace period.
      stores.eventHub.close();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      checkpoint(db);
      db.close();
      logger.info("controller stopped");
    })());
  return { url, adminTokenFile, logger, jobs, scheduler, close };
}

function storeCheck(db: ReturnType<typeof openDatabase>) {
  try {
    // Takes the write lock and lets it go: the file is writable and no one holds it for long.
    db.exec("BEGIN IMMEDIATE; ROLLBACK;");
    return { name: "store" as const, ok: true };
  } catch {
    return { name: "store" as const, ok: false, message: "the database is not writable" };
  }
}
