/**
 * Event ingestion over HTTP: batches of 500 run events POSTed to
 * `/engines/telemetry/{instance}/events` of the real controller (a child process), against a
 * bare express route that parses the same JSON and answers the same receipt. Each batch holds
 * `--runs-per-batch` whole runs of the agent's own schedule (run.started, phases started and
 * finished, run.succeeded with size and checksum), so it also writes that many catalog entries
 * (a backup, its part, its events, a retention pass). Rounds alternate between the two servers.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/agent-events.ts
 *     [--rounds 5] [--seconds 4] [--connections 4] [--runs-per-batch 1] [--profile file]
 */
import { randomBytes } from "node:crypto";
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

const GOAL_EVENTS_PER_SECOND = 50_000;
const BATCH = 500;
const BUDGET_SECONDS = 300;

/** A batch of fresh ids: `runs` whole runs of `BATCH / runs` events each. */
function batch(prefix: string, counter: number, runs: number): string {
  const events: unknown[] = [];
  const at = new Date().toISOString();
  for (let r = 0; r < runs; r++) {
    const run = `${prefix}-${counter}-${r}`;
    let n = 0;
    const id = () => `${run}-${n++}`;
    events.push({ id: id(), type: "run.started", run, at, trigger: "schedule" });
    for (let p = 0; p < (BATCH / runs - 2) / 2; p++) {
      events.push({ id: id(), type: "phase.started", run, at, phase: `phase ${p}` });
      events.push({
        id: id(),
        type: "phase.finished",
        run,
        at,
        phase: `phase ${p}`,
        status: "ok",
        duration_ms: 12,
        bytes: 4096,
      });
    }
    events.push({
      id: id(),
      type: "run.succeeded",
      run,
      at,
      duration_ms: 600,
      bytes: 4096,
      sha256: randomBytes(32).toString("hex"),
      location: `file:///var/backups/stowage/${run}.gz`,
    });
  }
  if (events.length !== BATCH) throw new Error(`a batch of ${events.length} events`);
  return JSON.stringify({ events });
}

async function main(): Promise<void> {
  const rounds = intOption("rounds", 5);
  const seconds = intOption("seconds", 4);
  const connections = intOption("connections", 4);
  const runs = intOption("runs-per-batch", 1);
  if ((BATCH / runs) % 2 !== 0)
    throw new Error(`--runs-per-batch must divide ${BATCH} into even runs`);
  const profile = option("profile");
  console.log(
    `agent events benchmark: ${environment()}; batches of ${BATCH} events, ${runs} run(s) each`,
  );
  const setup = await startTelemetrySetup();
  limitRuntime(BUDGET_SECONDS, () => {
    setup.controller.child.kill("SIGKILL");
    setup.bare.child.kill("SIGKILL");
  });
  const prefix = randomBytes(4).toString("hex");
  let counter = 0;
  const load = (server: typeof setup.controller) =>
    closedLoop(server, {
      connections,
      seconds,
      status: 200,
      next: () => ({
        path: `/engines/telemetry/${setup.instance}/events`,
        headers: { authorization: setup.authorization, "content-type": "application/json" },
        body: batch(prefix, counter++, runs),
      }),
    });
  try {
    // Warm-up: the JIT, the statements' first runs, the validator's compiled schemas.
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
    const rate = (result: LoadResult) => (result.requests * BATCH) / result.seconds;
    const cpuPerBatch = (result: LoadResult) => (result.serverCpuSeconds * 1000) / result.requests;
    const controllerRate = median(results.controller.map(rate));
    const bareRate = median(results.bare.map(rate));
    console.log(
      table([
        ["server", "events/s (median)", "batches/s", "server CPU ms/batch"],
        ...(["controller", "bare"] as const).map((side) => [
          side === "controller" ? "controller (stored, catalog fed)" : "bare express (parse, drop)",
          fixed(median(results[side].map(rate)), 0),
          fixed(median(results[side].map(rate)) / BATCH, 1),
          fixed(median(results[side].map(cpuPerBatch)), 2),
        ]),
      ]),
    );
    // The rate moves with whatever else runs on the machine; the CPU time per batch much less.
    const freeCoreRate = (1000 / median(results.controller.map(cpuPerBatch))) * BATCH;
    console.log(
      `ratio controller / bare: ${fixed(controllerRate / bareRate, 2)}; ` +
        `goal >= ${GOAL_EVENTS_PER_SECOND} events/s: ${goal(controllerRate >= GOAL_EVENTS_PER_SECOND)}; ` +
        `the controller's CPU time allows ${fixed(freeCoreRate, 0)} events/s on a core of its own`,
    );
  } finally {
    await setup.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
