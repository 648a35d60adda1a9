/**
 * A target, an enrolled agent and a pull deployment, created through the control API (the agent
 * enrolled with the enrollment service, as the agent API's handler will), and jobs driven through
 * the controller's own JobsService: what the tests of agents, deployments, tenants and retention
 * share.
 */
import { createHash, generateKeyPairSync, randomUUID } from "node:crypto";
import path from "node:path";
import type { ControlClient } from "@stowage/control-client";
import { enrollAgent, recordAgentSeen } from "../src/services/agent-enrollment";
import type { ResultManifest } from "../src/services/backup-catalog";
import { createStores, type Stores } from "../src/services/control-context";
import { openDatabase, type Db } from "../src/store/database";
import type { AgentRow } from "../src/store/agents-store";
import type { TestController } from "./test-controller";

export interface PullSetup {
  deployment: { id: string; name: string };
  agent: AgentRow;
  target: { id: string; name: string };
}

/** A second connection to the controller's database, for service calls and inspection. */
export function secondConnection(t: TestController): { db: Db; stores: Stores } {
  const db = openDatabase(path.join(t.dataDir, "stowage.db"));
  return { db, stores: createStores(db) };
}

export function must<T>(result: { data?: { result: T }; error?: unknown }): T {
  if (!result.data) throw new Error(JSON.stringify(result.error));
  return result.data.result;
}

/** Enrolls an agent of the client's tenant, seen now. */
export async function enrolledAgent(client: ControlClient, stores: Stores): Promise<AgentRow> {
  const enrollment = must(await client.POST("/v1/enrollments", { body: {} }));
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { agent } = enrollAgent(stores, {
    enrollmentSecret: enrollment.token,
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    hostname: "db-host.internal",
  });
  recordAgentSeen(stores, agent, { authMethod: "jwt" });
  return agent;
}

export async function pullSetup(
  client: ControlClient,
  stores: Stores,
  options: { name?: string; agent?: AgentRow } = {},
): Promise<PullSetup> {
  const suffix = randomUUID().slice(0, 8);
  const target = must(
    await client.POST("/v1/targets", {
      body: { type: "file", name: `disk-${suffix}`, url: "file:///var/backups/stowage" },
    }),
  );
  const agent = options.agent ?? (await enrolledAgent(client, stores));
  const deployment = must(
    await client.POST("/v1/deployments", {
      body: {
        name: options.name ?? `db-${suffix}`,
        kind: "sqlite",
        connection: { path: "/srv/app.db" },
        driver: { type: "pull", agent_id: agent.id },
        target_ids: [target.id],
      },
    }),
  );
  return { deployment, agent, target };
}

export function manifest(): ResultManifest {
  return {
    size_bytes: 1234,
    sha256: createHash("sha256").update(randomUUID()).digest("hex"),
    location: `file:///var/backups/stowage/${randomUUID()}.sql.gz`,
    compression: "gzip",
    started_at: new Date(Date.now() - 1000).toISOString(),
    finished_at: new Date().toISOString(),
    timings: [{ phase: "dump", duration_ms: 600 }],
  };
}

/** Queues a backup through the API (JSON, not the NDJSON stream); answers its job. */
export async function take(client: ControlClient, deployment: string) {
  const result = await client.requestAs(
    "post",
    "/v1/deployments/{deployment}/backups",
    "application/json",
    { params: { path: { deployment } }, body: {} },
  );
  if (!result.data) throw new Error(JSON.stringify(result.error));
  return result.data.result;
}

/** Takes a backup and drives its job to success through the controller's JobsService. */
export async function completedBackup(t: TestController, client: ControlClient, setup: PullSetup) {
  const job = await take(client, setup.deployment.name);
  const claimed = t.controller.jobs.claimNextJob(setup.agent.id);
  if (claimed?.id !== job.id) throw new Error(`claimed ${claimed?.id}, expected ${job.id}`);
  t.controller.jobs.completeJob(setup.agent.id, job.id, {
    outcome: "succeeded",
    manifest: manifest(),
  });
  return job;
}

/**
 * Cancels the deployment's queued delete jobs (its tombstones queued them; no agent runs them
 * here): a deployment with queued jobs is not deleted (409).
 */
export async function cancelQueuedFileDeletes(client: ControlClient, deployment: string) {
  const queued = must(
    await client.GET("/v1/jobs", {
      params: { query: { deployment, kind: "delete", state: "QUEUED", limit: 1000 } },
    }),
  ).items;
  for (const job of queued) {
    must(await client.POST("/v1/jobs/{job}/cancel", { params: { path: { job: job.id } } }));
  }
  return queued;
}
