import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createControlClient, type ControlClient } from "@stowage/control-client";
import { openDatabase } from "../src/store/database";
import { enrollTestAgent, type TestAgent } from "./agent-fixture";
import { spawnController } from "./controller-process";
import { must } from "./pull-fixture";

/**
 * kill -9 while agents post events and logs: every event id and log submission the agent saw
 * acknowledged is stored after a restart, and nothing half-written (a staged log chunk) is left.
 */
it("keeps every acknowledged event and log submission across SIGKILL", async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), "stowage-telemetry-crash-"));
  try {
    const first = await spawnController(dataDir);
    const adminToken = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
    const operator = createControlClient({
      baseUrl: first.url,
      auth: { getToken: () => adminToken },
      retry: false,
    });
    const agent = await enrollTestAgent(
      { url: first.url, dispatcher: undefined, client: () => operator },
      operator,
    );
    await deploymentOf(operator, agent);

    const events: string[] = [];
    const submissions: string[] = [];
    let stop = false;
    const eventWriters = Array.from({ length: 3 }, async () => {
      const run = randomUUID();
      while (!stop) {
        const batch = Array.from({ length: 50 }, () => ({
          id: randomUUID(),
          type: "phase.started" as const,
          run,
          at: new Date().toISOString(),
          phase: "dump",
        }));
        try {
          const { data } = await agent.client.POST("/engines/telemetry/{instance}/events", {
            params: { path: { instance: agent.instance } },
            body: { events: batch },
          });
          if (data) events.push(...batch.map((event) => event.id));
        } catch {
          return; // the connection died with the process
        }
      }
    });
    const logWriter = (async () => {
      while (!stop) {
        try {
          const { data } = await agent.client.uploadNdjson(
            "post",
            "/engines/telemetry/{instance}/log",
            {
              params: { path: { instance: agent.instance } },
              items: () =>
                Array.from({ length: 2000 }, (_unused, i) => ({
                  run: "crash-run",
                  timestamp: new Date().toISOString(),
                  level: "info" as const,
                  message: `line ${i} ${"x".repeat(500)}`,
                })),
            },
          );
          if (data) submissions.push((data as { id: string }).id);
        } catch {
          return;
        }
      }
    })();
    const deadline = Date.now() + 20_000;
    while ((events.length < 2000 || submissions.length < 3) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    stop = true;
    await Promise.all([...eventWriters, logWriter]);
    expect(events.length).toBeGreaterThanOrEqual(2000);
    expect(submissions.length).toBeGreaterThanOrEqual(3);

    // The restart discards what a request in flight had staged.
    const second = await spawnController(dataDir);
    second.child.kill("SIGTERM");
    await second.exited;
    const db = openDatabase(path.join(dataDir, "stowage.db"));
    try {
      const storedEvents = new Set(
        db
          .prepare<[string], { id: string }>("SELECT id FROM agent_events WHERE agent_id = ?")
          .all(agent.instance)
          .map((row) => row.id),
      );
      expect(events.filter((id) => !storedEvents.has(id))).toEqual([]);
      const committed = new Set(
        db
          .prepare<[], { id: string }>(
            "SELECT id FROM agent_log_submissions WHERE state = 'committed'",
          )
          .all()
          .map((row) => row.id),
      );
      expect(submissions.filter((id) => !committed.has(id))).toEqual([]);
      const staged = db
        .prepare<[], { n: number }>(
          "SELECT count(*) AS n FROM agent_log_submissions WHERE state = 'staged'",
        )
        .get();
      expect(staged?.n).toBe(0);
    } finally {
      db.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 90_000);

/** A target and a pull deployment run by the agent: where its runs' backups go. */
async function deploymentOf(operator: ControlClient, agent: TestAgent) {
  const target = must(
    await operator.POST("/v1/targets", {
      body: { type: "file", name: "disk", url: "file:///var/backups/stowage" },
    }),
  );
  return must(
    await operator.POST("/v1/deployments", {
      body: {
        name: "crash-db",
        kind: "sqlite",
        connection: { path: "/srv/app.db" },
        driver: { type: "pull", agent_id: agent.instance },
        target_ids: [target.id],
      },
    }),
  );
}
