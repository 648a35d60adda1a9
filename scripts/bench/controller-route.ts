/**
 * The reference controller's `GET /v1/deployments/{d}/backups?limit=50` (bearer token, RBAC,
 * request validation, the store, the envelope, the request log and metrics) against a bare
 * express route serving the same bytes, and, to show what the validator alone costs, that bare
 * route behind express-openapi-validator as it installs itself (the control spec, no security
 * handlers). Each server runs in a child process on 127.0.0.1 in plain Node (the sources
 * transpiled, no ts-node hooks); autocannon loads one at a time from this process, the order
 * rotating each round.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/controller-route.ts
 *     [--rounds 5] [--duration 5] [--warmup 3] [--connections 10] [--backups 300] [--limit 50]
 *     [--log-level info] [--only controller|bare|validated] [--profile [--keep-profiles dir]]
 *
 * `--profile` samples each server's CPU during the measured rounds (not start-up or warm-up) and
 * prints where the time went: auth, SQLite, validation, JSON, logging, node core...
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import express, { type ErrorRequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { openapiDocument } from "@stowage/control-server";
import { validatorDocument } from "../../packages/server-runtime/src/validator-document";
import { closeSeeded, forkController, openCatalog } from "./controller-fixture";
import { formatSummary, summarizeProfile } from "./cpu-profile";
import { forkServer, serveOverIpc, type ServerProcess } from "./server-process";
import {
  environment,
  fixed,
  goal,
  intOption,
  limitRuntime,
  max,
  median,
  min,
  option,
  table,
} from "./stats";

type Side = "controller" | "bare" | "validated";
const SIDES: readonly Side[] = ["bare", "validated", "controller"];
const LABELS: Record<Side, string> = {
  bare: "bare express route",
  validated: "bare route + validator",
  controller: "controller",
};

const GOAL_RATIO = 0.55;
const BUDGET_SECONDS = 300;

// ---------------------------------------------------------------------------------------------
// The bare route (child process)

function serveBare(bodyFile: string, token: string, validated: boolean): Promise<void> {
  return serveOverIpc(async () => {
    const body = readFileSync(bodyFile);
    const app = express();
    // As the controller: no x-powered-by, no ETag (hashing a 100 kB body would cost the bare side).
    app.disable("x-powered-by");
    app.set("etag", false);
    if (validated) {
      app.use(express.json());
      app.use(
        OpenApiValidator.middleware({
          apiSpec: validatorDocument(openapiDocument) as never,
          validateRequests: { allErrors: true },
          validateResponses: false,
          validateSecurity: false,
          validateFormats: true,
        }),
      );
    }
    app.get("/v1/deployments/:deployment/backups", (req, res) => {
      if (req.get("authorization") !== `Bearer ${token}`) {
        res.status(401).json({ error: { code: "auth.invalid_token", message: "No." } });
        return;
      }
      res.type("application/json").send(body);
    });
    const refuse: ErrorRequestHandler = (error: { status?: number }, _req, res, _next) => {
      res.status(error.status ?? 500).json({ error: { code: "refused", message: "No." } });
    };
    app.use(refuse);
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Load

interface Sample {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per completed request, in µs (the child's own accounting). */
  cpuUs: number;
}

async function load(
  server: ServerProcess,
  url: string,
  token: string,
  connections: number,
  seconds: number,
): Promise<Sample> {
  const cpuBefore = await server.cpuMicros();
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
  });
  const cpuAfter = await server.cpuMicros();
  if (result.errors > 0 || result.non2xx > 0 || result.requests.total === 0) {
    throw new Error(
      `${url}: ${result.errors} errors, ${result.non2xx} non-2xx of ${result.requests.total}`,
    );
  }
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUs: (cpuAfter - cpuBefore) / result.requests.total,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.argv[2] === "--serve-bare") {
    return serveBare(process.argv[3], process.argv[4], process.argv[5] === "validated");
  }

  const rounds = intOption("rounds", 5);
  const duration = intOption("duration", 5);
  const warmup = intOption("warmup", 3);
  const connections = intOption("connections", 10);
  const backups = intOption("backups", 300);
  const limit = intOption("limit", 50);
  const logLevel = option("log-level") ?? "info";
  const profile = process.argv.includes("--profile");
  const only = option("only");
  if (only !== undefined && !SIDES.includes(only as Side)) {
    throw new Error(`--only must be one of ${SIDES.join(", ")}`);
  }
  const sides: readonly Side[] = only === undefined ? SIDES : [only as Side];

  const dataDir = mkdtempSync(path.join(tmpdir(), "stowage-bench-route-"));
  const servers: ServerProcess[] = [];
  const cleanUp = () => {
    for (const server of servers) server.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  };
  limitRuntime(BUDGET_SECONDS, cleanUp);

  try {
    const seeded = openCatalog(dataDir, { backups, partsPerBackup: 2, loader: "store" });
    closeSeeded(seeded);
    const controller = await forkController(dataDir, logLevel);
    servers.push(controller);
    const route = `/v1/deployments/${seeded.deployment.name}/backups?limit=${limit}`;
    const headers = { authorization: `Bearer ${seeded.readerToken}` };

    // The bare route serves exactly the bytes the controller answered.
    const first = await fetch(`${controller.url}${route}`, { headers });
    const bytes = Buffer.from(await first.arrayBuffer());
    const page = JSON.parse(bytes.toString("utf8")) as {
      result: { items: unknown[]; next_marker: string | null };
    };
    if (first.status !== 200 || page.result.items.length !== Math.min(limit, backups)) {
      throw new Error(`controller: HTTP ${first.status}, ${page.result.items?.length} items`);
    }
    const bodyFile = path.join(dataDir, "page.json");
    writeFileSync(bodyFile, bytes);
    const bare = await forkServer(__filename, ["--serve-bare", bodyFile, seeded.readerToken]);
    servers.push(bare);
    const validated = await forkServer(__filename, [
      "--serve-bare",
      bodyFile,
      seeded.readerToken,
      "validated",
    ]);
    servers.push(validated);
    for (const server of [bare, validated]) {
      const check = await fetch(`${server.url}${route}`, { headers });
      if (!Buffer.from(await check.arrayBuffer()).equals(bytes)) {
        throw new Error("a bare route does not serve the controller's bytes");
      }
    }
    const refused = await fetch(`${controller.url}${route}`);
    if (refused.status !== 401) throw new Error(`no token: HTTP ${refused.status}, not 401`);
    await refused.arrayBuffer();

    const target: Record<Side, { server: ServerProcess; url: string }> = {
      controller: { server: controller, url: `${controller.url}${route}` },
      bare: { server: bare, url: `${bare.url}${route}` },
      validated: { server: validated, url: `${validated.url}${route}` },
    };

    console.log(`controller route benchmark: ${environment()}`);
    console.log(
      `route: GET ${route} with a backup:read token; ${seeded.backups} backups (2 parts each) in the catalog`,
    );
    console.log(
      `answer: ${bytes.length} bytes, ${page.result.items.length} backups, content-type ${first.headers.get("content-type")}`,
    );
    console.log(
      `controller: startController() in a child process, log level ${logLevel}, response validation off (the default)`,
    );
    console.log("bare: express route in a child process, same bytes, token compared as a string");
    console.log(
      "bare route + validator: the same behind express-openapi-validator as installed " +
        "(control spec, request validation, no security handlers)",
    );
    console.log(
      `load: autocannon in this process, ${connections} connections, ${warmup} s warm-up per side, ` +
        `${rounds} rounds x ${duration} s per side, order rotating\n`,
    );

    for (const side of sides) {
      await load(target[side].server, target[side].url, seeded.readerToken, connections, warmup);
    }
    const samples: Record<Side, Sample[]> = { controller: [], bare: [], validated: [] };
    if (profile) for (const side of sides) await target[side].server.startProfile();
    for (let round = 0; round < rounds; round++) {
      const order = sides.map((_, index) => sides[(index + round) % sides.length]);
      for (const side of order) {
        const { server, url } = target[side];
        samples[side].push(await load(server, url, seeded.readerToken, connections, duration));
      }
    }

    const of = (side: Side, key: keyof Sample) => samples[side].map((sample) => sample[key]);
    const rows: string[][] = [
      [
        "side",
        "req/s (median)",
        "req/s min-max",
        "p50 ms",
        "p99 ms",
        "server CPU µs/req",
        "ratio to bare",
      ],
    ];
    const withBare = sides.includes("bare");
    const paired = (side: Side, key: keyof Sample) =>
      median(samples[side].map((sample, round) => sample[key] / samples.bare[round][key]));
    const ratio =
      withBare && sides.includes("controller") ? paired("controller", "rps") : Number.NaN;
    for (const side of sides) {
      rows.push([
        LABELS[side],
        fixed(median(of(side, "rps")), 0),
        `${fixed(min(of(side, "rps")), 0)}-${fixed(max(of(side, "rps")), 0)}`,
        fixed(median(of(side, "p50")), 1),
        fixed(median(of(side, "p99")), 1),
        fixed(median(of(side, "cpuUs")), 0),
        side !== "bare" && withBare
          ? `${fixed(paired(side, "rps"), 2)} req/s, ${fixed(1 / paired(side, "cpuUs"), 2)} by CPU`
          : "",
      ]);
    }
    console.log(table(rows));
    if (!Number.isNaN(ratio)) {
      console.log("");
      console.log(
        table([
          ["goal", "target", "measured", "status"],
          [
            "controller req/s / bare req/s (median of rounds)",
            `>= ${fixed(GOAL_RATIO, 2)}`,
            fixed(ratio, 2),
            goal(ratio >= GOAL_RATIO),
          ],
        ]),
      );
    }

    if (profile) {
      const keepOption = option("keep-profiles");
      const kept = keepOption === undefined ? undefined : path.resolve(keepOption);
      if (kept) mkdirSync(kept, { recursive: true });
      for (const side of [...sides].reverse()) {
        const file = path.join(kept ?? dataDir, `${side}.cpuprofile`);
        await target[side].server.stopProfile(file);
        const requests = samples[side].reduce((sum, sample) => sum + sample.requests, 0);
        console.log(
          `\nCPU profile of the ${LABELS[side]} process over the ` +
            `measured rounds (${fixed(requests, 0)} requests; its idle time, while the other side ` +
            "is loaded, left out):",
        );
        console.log(formatSummary(summarizeProfile(file), requests));
        if (kept) console.log(`\nprofile written to ${file} (open it in Chrome DevTools)`);
      }
    }
    for (const server of [bare, validated, controller]) await server.stop();
  } finally {
    cleanUp();
  }
}

main().then(
  () => {
    if (process.argv[2] !== "--serve-bare") process.exit(0);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
