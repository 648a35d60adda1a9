/**
 * 5,000 agents long-polling `POST /engines/jobs/{instance}/claim?wait=60` at once against the
 * reference controller in a child process: its resident memory with every claim held (goal:
 * under 300 MB), against its memory idle in the same run, and how soon a queued job reaches its
 * waiting agent (goal: within 50 ms), timed from before the operator's request that queues it.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/agent-long-poll.ts
 *     [--agents 5000] [--jobs 30]
 *
 * The agents are enrolled and their deployments created through the controller's own services
 * before it starts; each then gets its access token from the token endpoint with a client
 * assertion, as a real agent does. The load comes from this process, over one undici Agent with
 * a connection per held claim.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import { signClientAssertion } from "../../packages/agent-client/src";
import { resolveConfig } from "../../packages/controller/src/config/controller-config";
import { enrollAgent } from "../../packages/controller/src/services/agent-enrollment";
import { bootstrapAdmin } from "../../packages/controller/src/services/bootstrap-admin";
import {
  createStores,
  type CallContext,
} from "../../packages/controller/src/services/control-context";
import { DeploymentsService } from "../../packages/controller/src/services/deployments-service";
import { EnrollmentsService } from "../../packages/controller/src/services/enrollments-service";
import type { OperatorPrincipal } from "../../packages/controller/src/services/principal";
import { TargetsService } from "../../packages/controller/src/services/targets-service";
import { TokensService } from "../../packages/controller/src/services/tokens-service";
import { checkpoint, openDatabase } from "../../packages/controller/src/store/database";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { environment, fixed, goal, intOption, limitRuntime, max, median, table } from "./stats";

const RSS_GOAL_MB = 300;
const LATENCY_GOAL_MS = 50;
const BUDGET_SECONDS = 600;

interface SeededAgent {
  instance: string;
  deployment: string;
  privateKey: KeyObject;
  token?: string;
}

function seed(dataDir: string, count: number): { adminToken: string; agents: SeededAgent[] } {
  const config = resolveConfig({ dataDir }, {}, dataDir);
  const db = openDatabase(config.database);
  const stores = createStores(db);
  const tokens = new TokensService(stores);
  bootstrapAdmin(stores, tokens, dataDir);
  const adminToken = readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
  const admin: CallContext<OperatorPrincipal> = {
    principal: tokens.authenticate(adminToken),
    requestId: "bench-seed",
  };
  const target = new TargetsService(stores).create(admin, {
    type: "file",
    name: "local-disk",
    url: "file:///var/backups/stowage",
  });
  const enrollments = new EnrollmentsService(stores);
  const deployments = new DeploymentsService(stores);
  const agents: SeededAgent[] = [];
  for (let index = 0; index < count; index++) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const enrollment = enrollments.create(admin, {}, "http://127.0.0.1");
    const { agent } = enrollAgent(stores, {
      enrollmentSecret: enrollment.token,
      publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
      name: `agent-${index}`,
    });
    const name = `db-${index}`;
    deployments.create(admin, {
      name,
      kind: "sqlite",
      connection: { path: `/srv/app-${index}.db` },
      driver: { type: "pull", agent_id: agent.id },
      target_ids: [target.id],
    });
    agents.push({ instance: agent.id, deployment: name, privateKey });
  }
  checkpoint(db);
  db.close();
  return { adminToken, agents };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

async function waitingClaims(url: string, dispatcher: Agent): Promise<number> {
  const { body } = await request(`${url}/metrics`, { dispatcher });
  const text = await body.text();
  return Number(/^stowage_agent_claims_waiting (\d+)/m.exec(text)?.[1] ?? 0);
}

async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<void>) {
  for (let start = 0; start < items.length; start += size)
    await Promise.all(items.slice(start, start + size).map(run));
}

/**
 * The controller as `npm start` runs it: the built JavaScript in plain node, not through ts-node,
 * whose compiler would add some 150 MB to the memory measured.
 */
async function startBuiltController(
  dataDir: string,
): Promise<{ url: string; child: ChildProcess }> {
  const bin = path.join(
    __dirname,
    "..",
    "..",
    "packages",
    "controller",
    "bin",
    "stowage-controller.js",
  );
  const child = spawn(
    process.execPath,
    [bin, "serve", "--port", "0", "--data-dir", dataDir, "--log-level", "info"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "controller listening" && entry.url) resolve(entry.url);
    });
    child.once("exit", (code) =>
      reject(new Error(`controller exited (${code}); run npm run build first`)),
    );
  });
  // Keep reading the log, as a log shipper would, so the pipe never fills and blocks the server.
  lines.on("line", () => undefined);
  return { url, child };
}

async function main(): Promise<void> {
  limitRuntime(BUDGET_SECONDS);
  const count = intOption("agents", 5000);
  const jobs = intOption("jobs", 30);
  const dataDir = mkdtempSync(path.join(tmpdir(), "stowage-bench-poll-"));
  console.log(`agent long polls: ${count} agents, ${jobs} queued jobs; ${environment()}`);
  const seedStart = performance.now();
  const { adminToken, agents } = seed(dataDir, count);
  console.log(
    `seeded ${count} agents and deployments in ${fixed((performance.now() - seedStart) / 1000)} s`,
  );
  const server = await startBuiltController(dataDir);
  const pid = server.child.pid ?? 0;
  const dispatcher = new Agent({ connections: null, pipelining: 0, keepAliveTimeout: 120_000 });
  try {
    const tokenUrl = `${server.url}/engines/oauth/token`;
    await inBatches(agents, 50, async (agent) => {
      const form = new URLSearchParams({
        grant_type: "client_credentials",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: signClientAssertion(agent, tokenUrl),
      });
      const { statusCode, body } = await request(tokenUrl, {
        method: "POST",
        dispatcher,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      });
      const answer = (await body.json()) as { access_token?: string };
      if (statusCode !== 200 || !answer.access_token) throw new Error(`token: ${statusCode}`);
      agent.token = answer.access_token;
    });
    const idleMb = rssMb(pid);
    console.log(`${count} access tokens minted; holding ${count} claims...`);

    const arrivals = new Map<string, (at: number) => void>();
    let stopping = false;
    let resets = 0;
    const poll = async (agent: SeededAgent): Promise<void> => {
      while (!stopping) {
        let answer: Awaited<ReturnType<typeof request>>;
        try {
          answer = await request(`${server.url}/engines/jobs/${agent.instance}/claim?wait=60`, {
            method: "POST",
            dispatcher,
            headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
            body: "{}",
            headersTimeout: 90_000,
            bodyTimeout: 90_000,
          });
        } catch (error) {
          // As a real agent does: a dropped connection is claimed again. Counted and printed.
          if ((error as { code?: string }).code !== "ECONNRESET" || stopping) throw error;
          resets++;
          continue;
        }
        const text = await answer.body.text();
        if (answer.statusCode === 200) arrivals.get(agent.instance)?.(performance.now());
        else if (answer.statusCode !== 204) throw new Error(`claim: ${answer.statusCode} ${text}`);
      }
    };
    const polls = agents.map((agent) =>
      poll(agent).catch((error: unknown) => {
        if (!stopping) throw error;
      }),
    );
    const heldStart = performance.now();
    while ((await waitingClaims(server.url, dispatcher)) < count) {
      if (performance.now() - heldStart > 120_000) throw new Error("claims were not all held");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const heldMb = rssMb(pid);
    console.log(`${count} claims held; queueing ${jobs} jobs...`);

    const latencies: number[] = [];
    for (let index = 0; index < jobs; index++) {
      const agent = agents[Math.floor(Math.random() * agents.length)];
      const arrived = new Promise<number>((resolve) => arrivals.set(agent.instance, resolve));
      const sent = performance.now();
      const { statusCode, body } = await request(
        `${server.url}/v1/deployments/${agent.deployment}/backups`,
        {
          method: "POST",
          dispatcher,
          headers: {
            authorization: `Bearer ${adminToken}`,
            "content-type": "application/json",
            accept: "application/json",
          },
          body: "{}",
        },
      );
      await body.text();
      if (statusCode !== 202 && statusCode !== 201) throw new Error(`take: ${statusCode}`);
      latencies.push((await arrived) - sent);
      arrivals.delete(agent.instance);
      // Let the agent's next claim settle before the next job.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const afterMb = rssMb(pid);
    stopping = true;

    console.log(
      table([
        ["measure", "value", "goal"],
        ["controller RSS, idle (tokens minted)", `${fixed(idleMb)} MB`, ""],
        [
          `controller RSS, ${count} claims held`,
          `${fixed(heldMb)} MB`,
          `< ${RSS_GOAL_MB} MB: ${goal(heldMb < RSS_GOAL_MB)}`,
        ],
        ["ratio held / idle", `${fixed(heldMb / idleMb, 2)}x`, ""],
        ["per held claim", `${fixed(((heldMb - idleMb) * 1024) / count, 1)} KB`, ""],
        ["controller RSS after the jobs", `${fixed(afterMb)} MB`, ""],
        ["claims reset by the network and re-sent", String(resets), ""],
        [
          `queued job -> agent, median of ${jobs}`,
          `${fixed(median(latencies))} ms`,
          `<= ${LATENCY_GOAL_MS} ms: ${goal(median(latencies) <= LATENCY_GOAL_MS)}`,
        ],
        [
          "queued job -> agent, worst",
          `${fixed(max(latencies))} ms`,
          `<= ${LATENCY_GOAL_MS} ms: ${goal(max(latencies) <= LATENCY_GOAL_MS)}`,
        ],
      ]),
    );
    void polls;
  } finally {
    server.child.kill("SIGTERM");
    await once(server.child, "exit");
    await dispatcher.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
