/**
 * The generated client against bare `fetch` on the same local route. The server runs in a child
 * process (127.0.0.1, an ephemeral port), so this process's CPU time is the client side alone and
 * the server's work is identical for both sides. Rounds alternate which side goes first.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/client.ts
 *     [--rounds 6] [--requests 2000] [--concurrency 10] [--server bare|fixture] [--only client|fetch]
 *
 * `--server fixture` serves the generated fixture router (auth, RBAC, request and response
 * validation) instead of a bare express route; `--only` runs one side, for `node --cpu-prof`.
 */
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import express from "express";
import { createFixtureClient } from "../../packages/codegen/test/fixture-client/src/generated/client";
import type { components } from "../../packages/codegen/test/fixture-client/src/generated/types";
import { startFixtureServer } from "../../packages/codegen/test/runtime/fixture-server";
import {
  collectGarbage,
  environment,
  fixed,
  goal,
  intOption,
  limitRuntime,
  median,
  option,
  table,
} from "./stats";

type ItemPage = components["schemas"]["ItemPage"];
type NewItem = components["schemas"]["NewItem"];
type ServerKind = "bare" | "fixture";
type Side = "client" | "fetch";

const GOAL_RATIO = 1.1;
const BUDGET_SECONDS = 240;
const TOKEN = "reader-token";
const LIMIT = 10;

/** What `GET /items` answers on the bare route: a documented `ItemPage`. */
const PAGE: ItemPage = {
  items: [1, 2, 3].map((n) => ({
    id: String(n),
    name: `item ${n}`,
    pet: n % 2 === 1 ? { kind: "cat", lives: n } : { kind: "dog", good: true },
    tags: ["nightly", "mysql"],
    note: null,
    labels: { team: "storage" },
    created_at: new Date(0).toISOString(),
  })),
  next_marker: null,
};

// ---------------------------------------------------------------------------------------------
// Server (child process)

async function serve(kind: ServerKind): Promise<void> {
  // The parent owns this process: when it goes away, so does the server.
  process.on("disconnect", () => process.exit(0));
  let url: string;
  if (kind === "fixture") {
    url = (await startFixtureServer()).url;
  } else {
    const app = express();
    app.get("/items", (req, res) => {
      if (req.get("authorization") !== `Bearer ${TOKEN}`) {
        res.status(401).json({ error: { code: "auth.missing", message: "No token." } });
        return;
      }
      res.json(PAGE);
    });
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  process.send?.({ url });
}

async function startServer(kind: ServerKind): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(__filename, ["--serve", "--server", kind], {
    // Not the parent's execArgv: a `--cpu-prof` of the benchmark must not profile the server.
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [message] = (await Promise.race([
    once(child, "message"),
    once(child, "exit").then(() => {
      throw new Error("the server process exited before listening");
    }),
  ])) as [{ url: string }];
  return { url: message.url, child };
}

// ---------------------------------------------------------------------------------------------
// The two sides: one request each, both checked

type Call = () => Promise<number>;

function bareFetch(url: string): Call {
  const target = `${url}/items?limit=${LIMIT}`;
  const init: RequestInit = { headers: { authorization: `Bearer ${TOKEN}` } };
  return async () => {
    const response = await fetch(target, init);
    if (!response.ok) throw new Error(`bare fetch: HTTP ${response.status}`);
    const page = (await response.json()) as ItemPage;
    return page.items.length;
  };
}

function generatedClient(url: string): Call {
  const client = createFixtureClient({ baseUrl: url, auth: { getToken: () => TOKEN } });
  return async () => {
    const { data, response } = await client.GET("/items", {
      params: { query: { limit: LIMIT } },
    });
    if (!response.ok || data === undefined) throw new Error(`client: HTTP ${response.status}`);
    return data.items.length;
  };
}

/** `requests` calls, `concurrency` in flight at a time; returns wall ms and this process's CPU ms. */
async function batch(
  call: Call,
  requests: number,
  concurrency: number,
): Promise<{ wallMs: number; cpuMs: number }> {
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next++;
      await call();
    }
  };
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

// ---------------------------------------------------------------------------------------------

interface ModeResult {
  concurrency: number;
  rps: Record<Side, number>;
  /** Median wall µs per request (throughput's inverse: at concurrency > 1, not a latency). */
  usPerRequest: Record<Side, number>;
  /** Median CPU µs per request in this process: the client side's own cost. */
  cpuUsPerRequest: Record<Side, number>;
  /** Median over rounds of (fetch rps / client rps), each round's two batches back to back. */
  ratio: number;
  cpuRatio: number;
}

async function measureMode(
  calls: Record<Side, Call>,
  sides: readonly Side[],
  rounds: number,
  requests: number,
  concurrency: number,
): Promise<ModeResult> {
  const warmup = Math.min(500, requests);
  for (const side of sides) await batch(calls[side], warmup, concurrency);
  const wall: Record<Side, number[]> = { client: [], fetch: [] };
  const cpu: Record<Side, number[]> = { client: [], fetch: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      collectGarbage();
      const result = await batch(calls[side], requests, concurrency);
      wall[side].push(result.wallMs);
      cpu[side].push(result.cpuMs);
    }
  }
  const perRequest = (samples: number[]) => (median(samples) * 1000) / requests;
  const paired = (samples: Record<Side, number[]>) =>
    median(samples.client.map((value, round) => value / samples.fetch[round]));
  return {
    concurrency,
    rps: {
      client: (requests * 1000) / median(wall.client),
      fetch: (requests * 1000) / median(wall.fetch),
    },
    usPerRequest: { client: perRequest(wall.client), fetch: perRequest(wall.fetch) },
    cpuUsPerRequest: { client: perRequest(cpu.client), fetch: perRequest(cpu.fetch) },
    ratio: sides.length === 2 ? paired(wall) : Number.NaN,
    cpuRatio: sides.length === 2 ? paired(cpu) : Number.NaN,
  };
}

async function seedFixture(url: string): Promise<void> {
  // The fixture server starts empty; three items make its page the size of the bare route's.
  for (const n of [1, 2, 3]) {
    const item: NewItem = { name: `item ${n}`, pet: { kind: "cat", lives: n }, tags: ["nightly"] };
    const response = await fetch(`${url}/items`, {
      method: "POST",
      headers: { authorization: "Bearer writer-token", "content-type": "application/json" },
      body: JSON.stringify(item),
    });
    if (response.status !== 201) throw new Error(`seeding the fixture server: ${response.status}`);
  }
}

async function main(): Promise<void> {
  const kind = (option("server") ?? "bare") as ServerKind;
  if (kind !== "bare" && kind !== "fixture") throw new Error("--server must be bare or fixture");
  if (process.argv.includes("--serve")) return serve(kind);

  const rounds = intOption("rounds", 6);
  const requests = intOption("requests", 2000);
  const concurrency = intOption("concurrency", 10);
  const only = option("only");
  if (only !== undefined && only !== "client" && only !== "fetch") {
    throw new Error("--only must be client or fetch");
  }
  const sides: readonly Side[] = only === undefined ? ["fetch", "client"] : [only];

  const { url, child } = await startServer(kind);
  limitRuntime(BUDGET_SECONDS, () => child.kill());
  try {
    if (kind === "fixture") await seedFixture(url);
    const calls: Record<Side, Call> = { fetch: bareFetch(url), client: generatedClient(url) };
    // Both sides must see the same answer, or the comparison means nothing.
    const [viaFetch, viaClient] = [await calls.fetch(), await calls.client()];
    if (viaFetch !== viaClient || viaFetch === 0) {
      throw new Error(`sides disagree: fetch saw ${viaFetch} items, client ${viaClient}`);
    }

    console.log(`client benchmark: ${environment()}`);
    console.log(
      `server: ${kind === "bare" ? "bare express route" : "generated fixture router"} in a child process at ${url}`,
    );
    console.log(`route: GET /items?limit=${LIMIT} with a bearer token, ${viaFetch} items per page`);
    console.log(
      `client: createFixtureClient(...).GET("/items") via ${require.resolve("@stowage/client-runtime")}`,
    );
    console.log(
      `${rounds} rounds x ${requests} requests per side, order alternating, GC between batches\n`,
    );

    const results: ModeResult[] = [];
    for (const mode of [1, concurrency]) {
      results.push(await measureMode(calls, sides, rounds, requests, mode));
    }

    const rows: string[][] = [
      [
        "mode",
        "side",
        "req/s",
        "wall µs/req",
        "CPU µs/req (client process)",
        "overhead µs/req",
        "ratio client/fetch",
      ],
    ];
    for (const result of results) {
      const mode = result.concurrency === 1 ? "sequential" : `concurrency ${result.concurrency}`;
      for (const side of sides) {
        const isClient = side === "client" && sides.length === 2;
        rows.push([
          mode,
          side === "fetch" ? "bare fetch" : "generated client",
          fixed(result.rps[side], 0),
          fixed(result.usPerRequest[side]),
          fixed(result.cpuUsPerRequest[side]),
          isClient
            ? `${fixed(result.usPerRequest.client - result.usPerRequest.fetch)} wall, ` +
              `${fixed(result.cpuUsPerRequest.client - result.cpuUsPerRequest.fetch)} CPU`
            : "",
          isClient ? `${fixed(result.ratio, 2)}x wall, ${fixed(result.cpuRatio, 2)}x CPU` : "",
        ]);
      }
    }
    console.log(table(rows));
    if (sides.length === 2) {
      console.log("");
      console.log(
        table([
          ["goal", "target", "measured (wall)", "status"],
          ...results.map((result) => [
            `client/fetch, ${result.concurrency === 1 ? "sequential" : `concurrency ${result.concurrency}`}`,
            `<= ${fixed(GOAL_RATIO, 2)}x`,
            `${fixed(result.ratio, 2)}x`,
            goal(result.ratio <= GOAL_RATIO),
          ]),
        ]),
      );
    }
  } finally {
    child.kill();
  }
}

main().then(
  () => {
    if (!process.argv.includes("--serve")) process.exit(0);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
