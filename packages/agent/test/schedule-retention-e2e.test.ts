import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock, type Clock } from "../../controller/src/services/clock";
import { must, startAgentWorld, until, type AgentWorld } from "./agent-e2e";

/**
 * The scheduler's clock runs `offsetMs` ahead of the real one, and its timers wake at least every
 * 100 ms: moving the offset a minute ahead makes the next `* * * * *` slot due at the next wake,
 * so a test sees a slot a second rather than a minute. An early wake finds nothing due and sleeps
 * again (scheduler.ts), so the short timers change when slots are seen, not which.
 */
let offsetMs = 0;
const clock: Clock = {
  now: () => new Date(Date.now() + offsetMs),
  setTimer: (callback, delayMs) => systemClock.setTimer(callback, Math.min(delayMs, 100)),
};

let world: AgentWorld;

function fileOf(backup: { locations: { url: string }[] }): string {
  return fileURLToPath(backup.locations[0].url);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

beforeAll(async () => {
  world = await startAgentWorld({ clock });
});
afterAll(async () => {
  await world.stop();
});

describe("scheduled backups on the reference agent", () => {
  it("runs a schedule on its own, prunes past keep_last with the files, and keeps a held backup", async () => {
    const operator = world.t.client();
    const source = path.join(world.work, "ledger.txt");
    await writeFile(source, "entries\n".repeat(1000));
    const deployment = await world.deploy({
      name: "ledger",
      kind: "files",
      connection: { paths: [source] },
      schedules: [{ cron: "* * * * *" }],
      retention: { keep_last: 2 },
    });
    await world.startAgent();
    const backups = async () =>
      must(
        await operator.GET("/v1/deployments/{deployment}/backups", {
          params: { path: { deployment: deployment.id }, query: { include_deleted: true } },
        }),
      ).items;
    const completedAfter = async (count: number) => {
      offsetMs += 60_000;
      return until(`${count} scheduled backups`, async () => {
        const items = await backups();
        return items.filter((backup) => backup.state === "COMPLETED").length >= count
          ? items
          : undefined;
      });
    };

    const [first] = await completedAfter(1);
    must(
      await operator.POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
        params: { path: { deployment: deployment.id, backup: first.id } },
        body: { reason: "audit" },
      }),
    );
    for (const count of [2, 3, 4]) await completedAfter(count);

    const jobs = must(
      await operator.GET("/v1/jobs", { params: { query: { deployment: deployment.id } } }),
    ).items;
    const backupJobs = jobs.filter((job) => job.kind === "backup");
    expect(backupJobs.length).toBeGreaterThanOrEqual(4);
    expect(backupJobs.every((job) => job.trigger === "schedule")).toBe(true);

    const bySequence = (await backups()).sort((a, b) => a.sequence - b.sequence);
    const live = bySequence.filter((backup) => backup.deleted === null);
    const newest = bySequence.slice(-2);
    // The held first backup and the two newest stay; everything between is pruned by retention.
    expect(live.map((backup) => backup.id)).toEqual([first.id, ...newest.map((b) => b.id)]);
    const pruned = bySequence.filter((backup) => backup.deleted !== null);
    expect(pruned.length).toBeGreaterThanOrEqual(1);
    expect(pruned.map((backup) => backup.deleted?.by)).toEqual(pruned.map(() => "retention"));
    expect(live[0]).toMatchObject({ hold: true, state: "COMPLETED" });

    // Each pruned backup's delete job ran on the agent: its file is gone, the others stay.
    const removals = await until("the pruned backups' delete jobs to succeed", async () => {
      const deletes = must(
        await operator.GET("/v1/jobs", {
          params: { query: { deployment: deployment.id, kind: "delete" } },
        }),
      ).items;
      return deletes.length === pruned.length && deletes.every((job) => job.status === "SUCCEEDED")
        ? deletes
        : undefined;
    });
    expect(removals.map((job) => job.backup_id).sort()).toEqual(
      pruned.map((backup) => backup.id).sort(),
    );
    expect(removals.every((job) => job.trigger === "retention")).toBe(true);
    for (const backup of pruned) expect(await exists(fileOf(backup))).toBe(false);
    for (const backup of live) expect(await exists(fileOf(backup))).toBe(true);
  }, 30_000);
});
