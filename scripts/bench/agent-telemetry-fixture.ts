/**
 * What the two agent telemetry benchmarks share: the controller in a child process with an
 * agent enrolled over the real agent API and the one pull deployment it runs; a bare express
 * server in another child process as the baseline (the same requests, bodies read and dropped,
 * the same answers); and a closed-loop load generator on keep-alive connections.
 *
 * Run as a script with `--bare`, this file is the baseline's child.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import express from "express";
import { Pool } from "undici";
import { accessTokenProvider, createAgentClient } from "@stowage/agent-client";
import { createControlClient } from "@stowage/control-client";
import { forkController } from "./controller-fixture";
import { forkServer, serveOverIpc, type ServerProcess } from "./server-process";

export interface TelemetrySetup {
  dataDir: string;
  controller: ServerProcess;
  bare: ServerProcess;
  instance: string;
  /** `Bearer <access token>` of the agent: what every measured request carries. */
  authorization: string;
  deploymentName: string;
  stop(): Promise<void>;
}

/** Starts both servers and enrolls an agent running one pull deployment. */
export async function startTelemetrySetup(): Promise<TelemetrySetup> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "stowage-bench-telemetry-"));
  const controller = await forkController(dataDir, "warn");
  const bare = await forkServer(__filename, ["--bare"]);
  const adminToken = readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
  const operator = createControlClient({
    baseUrl: controller.url,
    auth: { getToken: () => adminToken },
    retry: false,
  });
  const enrollment = await operator.POST("/v1/enrollments", { body: {} });
  if (!enrollment.data) throw new Error(JSON.stringify(enrollment.error));
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const agentApi = createAgentClient({ baseUrl: controller.url, retry: false });
  const enrolled = await agentApi.POST("/engines/enroll", {
    body: {
      enrollment_token: enrollment.data.result.token,
      public_key: publicKey.export({ type: "spki", format: "pem" }).toString(),
      hostname: "bench-host",
    },
  });
  if (!enrolled.data) throw new Error(JSON.stringify(enrolled.error));
  const instance = enrolled.data.instance;
  const auth = accessTokenProvider({
    tokenUrl: enrolled.data.endpoints.token,
    credentials: { instance, privateKey, keyThumbprint: enrolled.data.key_thumbprint },
  });
  const target = await operator.POST("/v1/targets", {
    body: { type: "file", name: "bench-disk", url: "file:///var/backups/stowage" },
  });
  if (!target.data) throw new Error(JSON.stringify(target.error));
  const deploymentName = "bench-db";
  const deployment = await operator.POST("/v1/deployments", {
    body: {
      name: deploymentName,
      kind: "mysql",
      connection: { host: "db.internal", username: "backup" },
      driver: { type: "pull", agent_id: instance },
      target_ids: [target.data.result.id],
      retention: { keep_last: 10 },
    },
  });
  if (!deployment.data) throw new Error(JSON.stringify(deployment.error));
  const token = await auth.getToken({ forceRefresh: false });
  return {
    dataDir,
    controller,
    bare,
    instance,
    authorization: `Bearer ${token}`,
    deploymentName,
    async stop() {
      await Promise.all([controller.stop(), bare.stop()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface LoadResult {
  seconds: number;
  requests: number;
  /** Server CPU time over the window, in seconds. */
  serverCpuSeconds: number;
}

/**
 * `connections` loops, each sending `next()`'s request and waiting for its answer, for
 * `seconds`; every answer must have `status`. One undici pool per server, kept alive.
 */
export async function closedLoop(
  server: ServerProcess,
  options: {
    connections: number;
    seconds: number;
    status: number;
    next: () => { path: string; headers: Record<string, string>; body: string | Buffer };
  },
): Promise<LoadResult> {
  const pool = new Pool(server.url, { connections: options.connections, pipelining: 1 });
  const cpuBefore = await server.cpuMicros();
  const start = performance.now();
  const end = start + options.seconds * 1000;
  let requests = 0;
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < end) {
        const request = options.next();
        const answer = await pool.request({ method: "POST", ...request });
        const text = await answer.body.text();
        if (answer.statusCode !== options.status)
          throw new Error(`${server.url}${request.path}: ${answer.statusCode} ${text}`);
        requests++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const serverCpuSeconds = ((await server.cpuMicros()) - cpuBefore) / 1e6;
  await pool.close();
  return { seconds, requests, serverCpuSeconds };
}

if (require.main === module && process.argv[2] === "--bare") {
  void serveOverIpc(async () => {
    const app = express();
    // The same bytes as the controller gets, read and dropped; the same answers.
    app.post("/engines/telemetry/:instance/log", (req, res) => {
      let bytes = 0;
      req.on("data", (chunk: Buffer) => (bytes += chunk.length));
      req.on("end", () =>
        res.status(201).json({ id: "log_bare", lines: 0, bytes, replayed: false }),
      );
    });
    app.post("/engines/telemetry/:instance/events", express.json({ limit: "4mb" }), (req, res) => {
      const events = (req.body as { events?: unknown[] }).events ?? [];
      res.status(200).json({ accepted: events.length, duplicates: 0 });
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  });
}
