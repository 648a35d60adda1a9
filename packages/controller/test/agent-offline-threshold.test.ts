/**
 * `--agent-offline-after-seconds`: when an agent that stopped calling counts as offline. Two real
 * controllers, one at the default (300 s) and one at 1 s, see the same silence of an agent
 * enrolled over the agent API; only the second reports it, in `/metrics` and in the doctor alike.
 */
import { resolveConfig } from "../src/config/controller-config";
import { enrollTestAgent } from "./agent-fixture";
import { must } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

let patient: TestController;
let strict: TestController;

beforeAll(async () => {
  [patient, strict] = await Promise.all([
    startTestController(),
    // Long enough that the first checks below land inside it on a loaded runner.
    startTestController({ agentOfflineAfterSeconds: 3 }),
  ]);
});
afterAll(() => Promise.all([patient.stop(), strict.stop()]));

/** A pull deployment run by an agent that calls the controller once, now, then stays silent. */
async function silentAgentDeployment(t: TestController): Promise<void> {
  const agent = await enrollTestAgent(t);
  const target = must(
    await t.client().POST("/v1/targets", {
      body: { type: "file", name: "disk", url: "file:///var/backups/stowage" },
    }),
  );
  must(
    await t.client().POST("/v1/deployments", {
      body: {
        name: "app-db",
        kind: "sqlite",
        connection: { path: "/srv/app.db" },
        driver: { type: "pull", agent_id: agent.instance },
        target_ids: [target.id],
      },
    }),
  );
  // Its one call: fetching its config (the token exchange before it) is what marks it seen.
  const config = await agent.client.GET("/engines/config/{instance}", {
    params: { path: { instance: agent.instance } },
    headers: { accept: "application/vnd.stowage.agent-config.v2+json" },
  });
  expect(config.response.status).toBe(200);
}

async function agentGauge(t: TestController): Promise<Record<string, number>> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const gauge: Record<string, number> = {};
  for (const [, state, value] of text.matchAll(/^stowage_agents\{state="(\w+)"\} (\d+)$/gm))
    gauge[state] = Number(value);
  return gauge;
}

async function agentProblems(t: TestController) {
  const report = must(await t.client().GET("/v1/doctor"));
  return report.deployments[0].problems.filter((problem) => problem.code.startsWith("agent."));
}

describe("the agent offline threshold", () => {
  it("defaults to 300 seconds and is read from flags and STOWAGE_* variables", () => {
    const cwd = process.cwd();
    expect(resolveConfig({}, {}, cwd).agentOfflineAfterSeconds).toBe(300);
    expect(resolveConfig({}, { STOWAGE_AGENT_OFFLINE_AFTER_SECONDS: "45" }, cwd)).toMatchObject({
      agentOfflineAfterSeconds: 45,
    });
    expect(() => resolveConfig({ agentOfflineAfterSeconds: "0" }, {}, cwd)).toThrow(
      /agentOfflineAfterSeconds/,
    );
  });

  it("counts a silent agent unseen and offline after the configured time, not before", async () => {
    await Promise.all([silentAgentDeployment(patient), silentAgentDeployment(strict)]);
    for (const t of [patient, strict]) {
      expect(await agentGauge(t)).toEqual({ seen: 1, unseen: 0, revoked: 0 });
      expect(await agentProblems(t)).toEqual([]);
    }

    await new Promise((resolve) => setTimeout(resolve, 4_000));

    expect(await agentGauge(patient)).toEqual({ seen: 1, unseen: 0, revoked: 0 });
    expect(await agentProblems(patient)).toEqual([]);
    expect(await agentGauge(strict)).toEqual({ seen: 0, unseen: 1, revoked: 0 });
    expect(await agentProblems(strict)).toEqual([
      expect.objectContaining({
        code: "agent.offline",
        severity: "critical",
        message: expect.stringMatching(/last seen \d+ seconds? ago \(offline after 3 seconds\)/),
      }),
    ]);
    const help = await (await fetch(`${strict.url}/metrics`)).text();
    expect(help).toContain("# HELP stowage_agents Agents: seen in the last 3 seconds, not seen");
  });
});
