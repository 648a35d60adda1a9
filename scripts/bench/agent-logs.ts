/**
 * Log ingestion over HTTP: NDJSON bodies (1 MiB by default, lines of about 200 bytes) POSTed to
 * `/engines/telemetry/{instance}/log` of the real controller (a child process: every line
 * validated, stored as chunks, committed once per request), against a bare express route that
 * reads the same bytes and drops them. Rounds alternate between the two servers.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/agent-logs.ts
 *     [--rounds 5] [--seconds 4] [--connections 2] [--body-kib 1024] [--profile file.cpuprofile]
 */
import { closedLoop, startTelemetrySetup, type LoadResult } from "./agent-telemetry-fixture";
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

const GOAL_MB_PER_SECOND = 50;
const BUDGET_SECONDS = 300;

/** One body: lines of a run as databacker writes them, until `bytes`. */
function ndjsonBody(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${JSON.stringify({
      run: "550e8400-e29b-41d4-a716-446655440000",
      timestamp: new Date(1764119700018 + i).toISOString(),
      level: i % 10 === 0 ? "warning" : "info",
      fields: { database: "orders", target: "offsite", attempt: i % 3 },
      message: `dump progress: ${i} rows of table orders written, ${i * 512} bytes so far`,
    })}\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join(""));
}

async function main(): Promise<void> {
  const rounds = intOption("rounds", 5);
  const seconds = intOption("seconds", 4);
  const connections = intOption("connections", 2);
  const body = ndjsonBody(intOption("body-kib", 1024) * 1024);
  const profile = option("profile");
  console.log(`agent logs benchmark: ${environment()}; bodies of ${body.length} bytes`);
  const setup = await startTelemetrySetup();
  limitRuntime(BUDGET_SECONDS, () => {
    setup.controller.child.kill("SIGKILL");
    setup.bare.child.kill("SIGKILL");
  });
  const load = (server: typeof setup.controller) =>
    closedLoop(server, {
      connections,
      seconds,
      status: 201,
      next: () => ({
        path: `/engines/telemetry/${setup.instance}/log`,
        headers: { authorization: setup.authorization, "content-type": "application/x-ndjson" },
        body,
      }),
    });
  try {
    await load(setup.controller);
    await load(setup.bare);
    const results: { controller: LoadResult[]; bare: LoadResult[] } = { controller: [], bare: [] };
    for (let round = 0; round < rounds; round++) {
      const order =
        round % 2 === 0 ? (["controller", "bare"] as const) : (["bare", "controller"] as const);
      for (const side of order) {
        collectGarbage();
        if (profile && side === "controller" && round === 0) await setup.controller.startProfile();
        results[side].push(await load(setup[side]));
        if (profile && side === "controller" && round === 0)
          await setup.controller.stopProfile(profile);
      }
    }
    const rate = (result: LoadResult) => (result.requests * body.length) / result.seconds / 1e6;
    const cpuPerMb = (result: LoadResult) =>
      (result.serverCpuSeconds * 1000) / ((result.requests * body.length) / 1e6);
    const controllerRate = median(results.controller.map(rate));
    const bareRate = median(results.bare.map(rate));
    console.log(
      table([
        ["server", "MB/s (median)", "requests/s", "server CPU ms/MB"],
        ...(["controller", "bare"] as const).map((side) => [
          side === "controller" ? "controller (validated, stored)" : "bare express (read, drop)",
          fixed(median(results[side].map(rate)), 1),
          fixed(median(results[side].map(rate)) / (body.length / 1e6), 1),
          fixed(median(results[side].map(cpuPerMb)), 2),
        ]),
      ]),
    );
    // The rate moves with whatever else runs on the machine; the CPU time per MB much less.
    const freeCoreRate = 1000 / median(results.controller.map(cpuPerMb));
    console.log(
      `ratio controller / bare: ${fixed(controllerRate / bareRate, 2)}; ` +
        `goal >= ${GOAL_MB_PER_SECOND} MB/s: ${goal(controllerRate >= GOAL_MB_PER_SECOND)}; ` +
        `the controller's CPU time allows ${fixed(freeCoreRate, 0)} MB/s on a core of its own`,
    );
  } finally {
    await setup.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
