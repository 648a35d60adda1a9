import { once } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { StowageIncomingMessage } from "@stowage/server-runtime";
import type { ControllerConfig } from "./config/controller-config";
import { createAgentApi } from "./http/agent-app";
import { createControlApp } from "./http/control-app";
import { createLogger, type Logger } from "./observability/logger";
import { createMetrics } from "./observability/metrics";
import { bootstrapAdmin } from "./services/bootstrap-admin";
import { createStores } from "./services/control-context";
import { ScriptAgentDriver } from "./services/drivers/script-agent-driver";
import { ZeebeDriver } from "./services/drivers/zeebe-driver";
import { HistoryPruner } from "./services/history-retention";
import { DEFAULT_JOB_SETTINGS, JobsService } from "./services/jobs-service";
import { IdentitySeedVault } from "./services/identity-seed-vault";
import type { JobWaiters } from "./services/job-waiters";
import { Scheduler } from "./services/scheduler";
import { SigningKeyRing } from "./services/signing-keys";
import { checkpoint, openDatabase } from "./store/database";

export const CONTROLLER_VERSION = "0.1.0";

export interface RunningController {
  url: string;
  /** Where the first start wrote the admin token, if this start was the first. */
  adminTokenFile?: string;
  logger: Logger;
  /** The job state machine: what the agent API's handlers (and, until then, tests) drive jobs through. */
  jobs: JobsService;
  /** The agent API's held claims (long polls), by agent. */
  jobWaiters: JobWaiters;
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
    agentOfflineAfterMs: config.agentOfflineAfterSeconds * 1000,
  });
  const scheduler = new Scheduler(stores, jobs, {
    clock: config.clock,
    logger: logger.child({ component: "scheduler" }),
  });
  const metrics = createMetrics();
  const keys = new SigningKeyRing(config.dataDir);
  const seedVault = new IdentitySeedVault(config.dataDir);
  keys.ensure();
  const tlsCertificatePem =
    config.tlsCert && config.tlsKey ? readFileSync(config.tlsCert, "utf8") : undefined;
  const tls = tlsCertificatePem !== undefined;
  // `url` is known once listening (below); requests, the only callers, come after that.
  const publicUrl = () => config.publicUrl ?? url;
  const agentApi = createAgentApi({
    stores,
    jobs,
    keys,
    logger,
    publicUrl,
    reporting: config.reporting,
    accessTokenLifetimeSeconds: config.accessTokenLifetimeSeconds,
    tokenRequestsPerMinute: config.tokenRequestsPerMinute,
    logMaxBytes: config.agentLogMaxBytes,
    traceMaxBytes: config.agentTraceMaxBytes,
    tlsCertificatePem,
    seedVault,
    validateResponses: config.validateResponses,
  });
  metrics.gauge(
    "stowage_agent_claims_waiting",
    "Agent claims held open now (long polls).",
    [],
    () => [{ labels: {}, value: agentApi.waiters.count }],
  );
  const { app, router, tokens } = createControlApp({
    stores,
    jobs,
    logger,
    metrics,
    version: CONTROLLER_VERSION,
    validateResponses: config.validateResponses,
    readiness: () => [storeCheck(db), signingKeyCheck(keys), scheduler.readiness()],
    onDeploymentsChanged: () => scheduler.wake(),
    clock: config.clock,
    agentApi: agentApi.middleware,
    agentEndpoint: {
      publicUrl,
      tlsCertificatePem,
      seedVault,
    },
  });
  const adminTokenFile = bootstrapAdmin(stores, tokens, config.dataDir);
  if (adminTokenFile)
    logger.info(
      { file: adminTokenFile },
      "first start: created an admin:* token; its secret is in this file (mode 0600)",
    );
  await Promise.all([router.ready(), agentApi.router.ready()]);

  const server =
    config.tlsCert && config.tlsKey
      ? https.createServer(
          {
            IncomingMessage: StowageIncomingMessage,
            cert: readFileSync(config.tlsCert),
            key: readFileSync(config.tlsKey),
            // Agents may present a self-signed certificate (mysql-backup does): the agent API
            // decides by its key, so the handshake asks for one and rejects none.
            requestCert: true,
            rejectUnauthorized: false,
          },
          app,
        )
      : http.createServer({ IncomingMessage: StowageIncomingMessage }, app);
  server.listen(config.port, config.host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const scheme = tls ? "https" : "http";
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
  const scriptAgentDriver = new ScriptAgentDriver(stores, jobs, {
    logger: logger.child({ component: "script-agent-driver" }),
  });
  scriptAgentDriver.start();
  const zeebeDriver = new ZeebeDriver(stores, jobs, {
    logger: logger.child({ component: "zeebe-driver" }),
    backupTimeoutMs: config.zeebeBackupTimeoutMs,
    ...config.zeebeDriver,
  });
  zeebeDriver.start();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      stopLeaseSweeper();
      // Before the database closes: no retention batch starts after this.
      stopPruner();
      scheduler.stop();
      // Before the database closes: its runs report into jobs until they have stopped.
      await Promise.all([scriptAgentDriver.stop(), zeebeDriver.stop()]);
      // Follow streams end with their final frame now, rather than holding shutdown for the grace period.
      stores.eventHub.close();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      checkpoint(db);
      db.close();
      logger.info("controller stopped");
    })());
  return { url, adminTokenFile, logger, jobs, jobWaiters: agentApi.waiters, scheduler, close };
}

function signingKeyCheck(keys: SigningKeyRing) {
  return keys.current()
    ? { name: "signing_key" as const, ok: true }
    : { name: "signing_key" as const, ok: false, message: "no token signing key on disk" };
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
