import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { Dispatcher } from "undici";
import { createControlClient, type ControlClient } from "@stowage/control-client";
import { resolveConfig, type ControllerConfig } from "../src/config/controller-config";
import { startController, type RunningController } from "../src/controller-server";
import { createLogger } from "../src/observability/logger";

export interface TestController {
  url: string;
  dataDir: string;
  adminToken: string;
  /** Every log line the controller wrote, as text, for assertions (and secret scans). */
  logs: string[];
  controller: RunningController;
  client(token?: string): ControlClient;
  /** The undici dispatcher clients of this controller use (HTTPS tests pin its certificate). */
  dispatcher?: Dispatcher;
  /** Stops the controller; `keepData` leaves the directory for a restart. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** A real controller on 127.0.0.1, an ephemeral port and a temp SQLite file, validating every response. */
export async function startTestController(
  overrides: Partial<ControllerConfig> & { dataDir?: string } = {},
  clients: { dispatcher?: Dispatcher } = {},
): Promise<TestController> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(path.join(tmpdir(), "stowage-controller-")));
  const config = {
    ...resolveConfig({ port: "0", dataDir, logLevel: "info" }, {}, process.cwd()),
    validateResponses: true,
    shutdownGraceMs: 1000,
    ...overrides,
  };
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      callback();
    },
  });
  const controller = await startController(config, createLogger({ level: "debug", destination }));
  const adminToken = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
  return {
    url: controller.url,
    dataDir,
    adminToken,
    logs,
    controller,
    dispatcher: clients.dispatcher,
    client: (token = adminToken) =>
      createControlClient({
        baseUrl: controller.url,
        auth: { getToken: () => token },
        retry: false,
        dispatcher: clients.dispatcher,
      }),
    async stop(options = {}) {
      await controller.close();
      if (!options.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
