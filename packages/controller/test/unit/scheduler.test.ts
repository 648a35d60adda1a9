/**
 * The scheduler with an injected clock, on a real store (SQLite, the real backups and jobs
 * services): slots become jobs exactly once, across restarts and with two schedulers on one
 * database; missed slots are caught up once; a slot that finds a queued job, or the job limit,
 * is a `skipped` event; time zones and DST days run the slots `next_run_at` announces.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createStores, type Stores } from "../../src/services/control-context";
import {
  nextRunAt,
  normalizeSchedules,
  settingsColumns,
  settingsFromRow,
  type DeploymentSettings,
} from "../../src/services/deployment-settings";
import { newId } from "../../src/services/identifiers";
import { DEFAULT_JOB_SETTINGS, JobsService } from "../../src/services/jobs-service";
import { cronFor, dueSlots, longestGapMs } from "../../src/services/schedule-plan";
import { Scheduler } from "../../src/services/scheduler";
import { openDatabase, type Db } from "../../src/store/database";
import type { DeploymentRow } from "../../src/store/deployments-store";
import type { JobRow } from "../../src/store/jobs-store";
import { ManualClock } from "./manual-clock";

interface Env {
  db: Db;
  stores: Stores;
  jobs: JobsService;
  tenantId: string;
}

type ScheduleInput = { cron: string; time_zone?: string; level?: "full" | "incremental" };

const opened: Db[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const db of opened) if (db.open) db.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function environment(options: { file?: string; maxJobs?: number; tenantId?: string } = {}): Env {
  const db = openDatabase(options.file ?? ":memory:");
  opened.push(db);
  const stores = createStores(db);
  const jobs = new JobsService(stores, {
    ...DEFAULT_JOB_SETTINGS,
    maxActivePerDeployment: options.maxJobs ?? 10,
  });
  const tenantId = options.tenantId ?? newId("ten");
  if (!stores.tenants.byId(tenantId)) {
    const at = "2020-01-01T00:00:00.000Z";
    stores.tenants.insert({
      id: tenantId,
      name: tenantId,
      description: null,
      created_at: at,
      updated_at: at,
    });
  }
  return { db, stores, jobs, tenantId };
}

function tempFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "stowage-scheduler-"));
  dirs.push(dir);
  return path.join(dir, "stowage.db");
}

function settingsOf(schedules: ScheduleInput[], paused = false): DeploymentSettings {
  return {
    description: null,
    kind: "zeebe",
    connection: {},
    driver: { type: "zeebe", url: "http://zeebe.internal:9600", username: null },
    schedules: normalizeSchedules(schedules),
    target_ids: [],
    retention: {},
    compression: "gzip",
    encryption: null,
    scripts: {},
    paused,
  };
}

/** A deployment written straight to the store, so its `updated_at` is on the test's clock. */
function addDeployment(
  env: Env,
  schedules: ScheduleInput[],
  at: string,
  options: { paused?: boolean; name?: string } = {},
): DeploymentRow {
  const id = newId("dep");
  env.stores.deployments.insert({
    id,
    tenant_id: env.tenantId,
    name: options.name ?? id,
    ...settingsColumns(settingsOf(schedules, options.paused), {}),
    created_at: at,
    updated_at: at,
  });
  return deploymentRow(env, id);
}

function changeDeployment(
  env: Env,
  row: DeploymentRow,
  change: Partial<DeploymentSettings>,
  at: string,
): DeploymentRow {
  const settings = { ...settingsFromRow(row), ...change };
  env.stores.deployments.updateSettings({
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    ...settingsColumns(settings, {}),
    created_at: row.created_at,
    updated_at: at,
  });
  return deploymentRow(env, row.id);
}

function deploymentRow(env: Env, id: string): DeploymentRow {
  const row = env.stores.deployments.byIdOrName(env.tenantId, id);
  if (!row) throw new Error(`no deployment ${id}`);
  return row;
}

function jobsOf(env: Env, deploymentId: string): JobRow[] {
  return env.stores.jobs
    .page({ tenantId: env.tenantId, beforeId: "\uffff", limit: 1000, deploymentId })
    .reverse();
}

function eventsOf(env: Env, deploymentId: string, op: string) {
  return env.stores.events
    .page({
      tenantId: env.tenantId,
      afterId: 0,
      limit: 1000,
      deploymentId,
      op,
      since: "1970-01-01T00:00:00Z",
    })
    .map((row) => ({ ...row, body: JSON.parse(row.body) as Record<string, unknown> }));
}

/** Ends a job as an agent would have (the scheduler only looks at QUEUED and active counts). */
function finishJob(env: Env, job: JobRow, at: string): void {
  env.stores.jobs.finish(job.id, "SUCCEEDED", at, { executionTimeMs: 0 });
}

function scheduler(env: Env, clock: ManualClock): Scheduler {
  return new Scheduler(env.stores, env.jobs, { clock });
}

describe("slot arithmetic", () => {
  it("answers nothing before the first slot and the latest due slot with the earlier ones folded in", () => {
    const cron = cronFor({ cron: "0 * * * *", time_zone: "UTC", level: "full" });
    if (!cron) throw new Error("cron did not parse");
    expect(
      dueSlots(cron, new Date("2026-01-05T09:30:00Z"), new Date("2026-01-05T09:59:59Z")),
    ).toBeNull();
    const due = dueSlots(cron, new Date("2026-01-05T09:30:00Z"), new Date("2026-01-05T13:00:00Z"));
    expect(due?.slot.toISOString()).toBe("2026-01-05T13:00:00.000Z");
    expect(due?.coalesced.map((slot) => slot.toISOString())).toEqual([
      "2026-01-05T10:00:00.000Z",
      "2026-01-05T11:00:00.000Z",
      "2026-01-05T12:00:00.000Z",
    ]);
    expect(due?.complete).toBe(true);
    // A slot exactly at `after` is handled already.
    expect(
      dueSlots(cron, new Date("2026-01-05T13:00:00Z"), new Date("2026-01-05T13:30:00Z")),
    ).toBeNull();
  });

  it("finds the latest slot of a long downtime by bisection, not by walking every minute", () => {
    const cron = cronFor({ cron: "* * * * *", time_zone: "Europe/Berlin", level: "full" });
    if (!cron) throw new Error("cron did not parse");
    const started = Date.now();
    const due = dueSlots(cron, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-31T17:42:31Z"));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(due?.slot.toISOString()).toBe("2026-01-31T17:42:00.000Z");
    expect(due?.complete).toBe(false);
    expect(due?.coalesced).toHaveLength(100);
    expect(due?.coalescedCount).toBeGreaterThan(100);
  });

  it("measures the longest gap between the slots of all schedules together", () => {
    const at = new Date("2026-01-05T00:00:00Z");
    expect(longestGapMs([], at)).toBeNull();
    const hourly = { cron: "0 * * * *", time_zone: "UTC", level: "full" as const };
    const daily = { cron: "30 2 * * *", time_zone: "UTC", level: "full" as const };
    const weekdays = { cron: "0 22 * * 1-5", time_zone: "UTC", level: "full" as const };
    expect(longestGapMs([hourly], at)).toBe(3_600_000);
    expect(longestGapMs([daily], at)).toBe(86_400_000);
    // Friday 22:00 to Monday 22:00.
    expect(longestGapMs([weekdays], at)).toBe(3 * 86_400_000);
    // Together an hourly and a daily schedule leave no gap longer than an hour.
    expect(longestGapMs([daily, hourly], at)).toBe(3_600_000);
    // A daily slot in a zone with DST: the fall-back day makes a 25-hour gap.
    expect(longestGapMs([{ ...daily, time_zone: "Europe/Berlin" }], at)).toBe(25 * 3_600_000);
  });
});

describe("the scheduler", () => {
  it("turns each slot into one backup job, and a second pass at the same time into nothing", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const s = scheduler(env, clock);
    expect(s.start()).toMatchObject({ outcomes: [], nextSlotAt: "2026-01-05T10:00:00.000Z" });

    clock.advanceTo("2026-01-05T10:00:00Z");
    const [first] = jobsOf(env, deployment.id);
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    expect(first).toMatchObject({
      kind: "backup",
      status: "QUEUED",
      trigger: "schedule",
      sequence: 1,
    });
    expect(s.runPass().outcomes).toEqual([]);
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    expect(s.slotsOf(deployment.id)).toEqual([
      expect.objectContaining({
        slot_at: "2026-01-05T10:00:00.000Z",
        outcome: "queued",
        job_id: first.id,
      }),
    ]);
    // The audit entry of the take names the slot it was for.
    const audit = env.db
      .prepare<[], { details: string }>(
        "SELECT details FROM audit_entries WHERE action = 'backups.take'",
      )
      .all();
    expect(JSON.parse(audit[0].details)).toMatchObject({
      trigger: "schedule",
      slot: "2026-01-05T10:00:00.000Z",
    });

    finishJob(env, first, "2026-01-05T10:20:00.000Z");
    clock.advanceTo("2026-01-05T12:00:00Z");
    expect(jobsOf(env, deployment.id).map((job) => job.sequence)).toEqual([1, 2]);
    // The 12:00 slot found the 11:00 job still queued.
    expect(
      s.slotsOf(deployment.id).map((slot) => [slot.slot_at, slot.outcome, slot.reason]),
    ).toEqual([
      ["2026-01-05T10:00:00.000Z", "queued", null],
      ["2026-01-05T11:00:00.000Z", "queued", null],
      ["2026-01-05T12:00:00.000Z", "skipped", "job_queued"],
    ]);
    // One timer for the whole scheduler, whatever it has done.
    expect(clock.pending).toBe(1);
    s.stop();
    expect(clock.pending).toBe(0);
  });

  it("sleeps until the earliest slot of all deployments, on one timer", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:00:00Z");
    addDeployment(env, [{ cron: "0 12 * * *" }], "2026-01-05T09:00:00.000Z");
    addDeployment(
      env,
      [{ cron: "15 10 * * *" }, { cron: "45 9 * * *" }],
      "2026-01-05T09:00:00.000Z",
    );
    addDeployment(env, [{ cron: "0 9 * * *" }], "2026-01-05T09:00:00.000Z", { paused: true });
    const s = scheduler(env, clock);
    expect(s.start()?.nextSlotAt).toBe("2026-01-05T09:45:00.000Z");
    expect(clock.pending).toBe(1);
    // Capped: a far slot is re-planned at least every minute.
    expect(clock.nextTimerAt?.toISOString()).toBe("2026-01-05T09:01:00.000Z");
    s.stop();
  });

  it("fires nothing twice across a restart, nor with its cursor lost", () => {
    const file = tempFile();
    const env = environment({ file });
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const first = scheduler(env, clock);
    first.start();
    clock.advanceTo("2026-01-05T10:10:00Z");
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    // A crash: the timer is gone, the process too; a new one opens the same file.
    first.stop();
    env.db.close();

    const again = environment({ file, tenantId: env.tenantId });
    const second = scheduler(again, clock);
    expect(second.start()?.outcomes).toEqual([]);
    expect(jobsOf(again, deployment.id)).toHaveLength(1);
    second.stop();

    // Even without its cursor, the recorded slot (the unique key) keeps 10:00 from running again.
    again.db.prepare("DELETE FROM schedule_cursors").run();
    const third = scheduler(again, clock);
    expect(third.start()?.outcomes).toEqual([]);
    expect(jobsOf(again, deployment.id)).toHaveLength(1);
    finishJob(again, jobsOf(again, deployment.id)[0], "2026-01-05T10:30:00.000Z");
    clock.advanceTo("2026-01-05T11:00:00Z");
    expect(jobsOf(again, deployment.id)).toHaveLength(2);
    third.stop();
  });

  it("queues a slot once when two schedulers share the database", () => {
    const file = tempFile();
    const one = environment({ file });
    const two = environment({ file, tenantId: one.tenantId });
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(one, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const a = scheduler(one, clock);
    const b = scheduler(two, clock);
    a.start();
    b.start();
    expect(clock.pending).toBe(2);
    // Both timers fire at 10:00; the second finds the slot recorded.
    clock.advanceTo("2026-01-05T10:00:00Z");
    expect(jobsOf(one, deployment.id)).toHaveLength(1);
    expect(one.stores.jobs.byIdInAnyTenant(jobsOf(one, deployment.id)[0].id)).toBeDefined();
    expect(eventsOf(one, deployment.id, "skipped")).toEqual([]);
    a.stop();
    b.stop();
  });

  it("runs the missed slots of a downtime once, and records which were folded in", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const before = scheduler(env, clock);
    before.start();
    clock.advanceTo("2026-01-05T10:30:00Z");
    finishJob(env, jobsOf(env, deployment.id)[0], "2026-01-05T10:20:00.000Z");
    before.stop();

    // Down from 10:30 to 03:15 the next day: 11:00 ... 03:00 are 17 slots.
    clock.advanceTo("2026-01-06T03:15:00Z");
    const after = scheduler(env, clock);
    const pass = after.start();
    expect(pass?.outcomes).toEqual([
      expect.objectContaining({
        slot: "2026-01-06T03:00:00.000Z",
        outcome: "queued",
        coalesced: 16,
      }),
    ]);
    expect(jobsOf(env, deployment.id)).toHaveLength(2);
    const [catchUp] = eventsOf(env, deployment.id, "schedule_catch_up");
    expect(catchUp.body).toMatchObject({
      slot: "2026-01-06T03:00:00.000Z",
      coalesced: {
        count: 16,
        count_exact: true,
        first: "2026-01-05T11:00:00.000Z",
        last: "2026-01-06T02:00:00.000Z",
      },
    });
    expect((catchUp.body.coalesced as { slots: string[] }).slots).toHaveLength(16);
    expect(after.slotsOf(deployment.id).at(-1)).toMatchObject({
      slot_at: "2026-01-06T03:00:00.000Z",
      coalesced_count: 16,
      first_coalesced_at: "2026-01-05T11:00:00.000Z",
    });
    after.stop();
  });

  it("folds weeks of per-minute slots into one job", () => {
    const env = environment();
    const clock = new ManualClock("2026-02-01T00:00:30Z");
    const deployment = addDeployment(env, [{ cron: "* * * * *" }], "2026-02-01T00:00:00.000Z");
    clock.advanceTo("2026-02-15T06:07:08Z");
    const s = scheduler(env, clock);
    const started = Date.now();
    const pass = s.start();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(pass?.outcomes).toEqual([
      expect.objectContaining({ slot: "2026-02-15T06:07:00.000Z", outcome: "queued" }),
    ]);
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    const [catchUp] = eventsOf(env, deployment.id, "schedule_catch_up");
    expect(catchUp.body.coalesced).toMatchObject({
      count_exact: false,
      first: "2026-02-01T00:01:00.000Z",
    });
    s.stop();
  });

  it("records a slot that finds a job still queued as a skipped event", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const s = scheduler(env, clock);
    s.start();
    clock.advanceTo("2026-01-05T11:00:00Z");
    const [queued] = jobsOf(env, deployment.id);
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    const skipped = eventsOf(env, deployment.id, "skipped");
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ severity: "warning", job_id: null });
    expect(skipped[0].body).toMatchObject({
      reason: "a job of this deployment is still queued",
      code: "job_queued",
      slot: "2026-01-05T11:00:00.000Z",
      schedule: 0,
      queued_job: queued.id,
    });
    s.stop();
  });

  it("neither skips a slot for a queued delete job nor counts one at the job limit", () => {
    const env = environment({ maxJobs: 1 });
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    // What a tombstone queues for an agent that may never claim it.
    env.jobs.enqueueJob({ deployment, kind: "delete", trigger: "retention" });
    const s = scheduler(env, clock);
    s.start();
    clock.advanceTo("2026-01-05T10:00:00Z");
    const queued = jobsOf(env, deployment.id).map((job) => `${job.kind} ${job.status}`);
    expect(queued.sort()).toEqual(["backup QUEUED", "delete QUEUED"]);
    expect(eventsOf(env, deployment.id, "skipped")).toEqual([]);
    s.stop();
  });

  it("records a slot refused at the job limit (429) as a skipped event", () => {
    const env = environment({ maxJobs: 1 });
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const s = scheduler(env, clock);
    s.start();
    clock.advanceTo("2026-01-05T10:00:00Z");
    // Running, not queued: only the limit stands in the way of the next slot.
    const [running] = jobsOf(env, deployment.id);
    expect(
      env.stores.jobs.claim(
        running.id,
        "agt_x",
        "2026-01-05T10:01:00.000Z",
        "2026-01-05T12:00:00.000Z",
      ),
    ).toBe(true);
    clock.advanceTo("2026-01-05T11:00:00Z");
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    const [skipped] = eventsOf(env, deployment.id, "skipped");
    expect(skipped.body).toMatchObject({
      code: "job_limit",
      slot: "2026-01-05T11:00:00.000Z",
      refusal: { status: 429, code: "rate.limited" },
    });
    expect(s.slotsOf(deployment.id).at(-1)).toMatchObject({
      outcome: "skipped",
      reason: "job_limit",
    });
    s.stop();
  });

  it("runs nothing while paused and does not catch the pause up on resume", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    let deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const s = scheduler(env, clock);
    s.start();
    clock.advanceTo("2026-01-05T10:05:00Z");
    finishJob(env, jobsOf(env, deployment.id)[0], "2026-01-05T10:04:00.000Z");
    deployment = changeDeployment(env, deployment, { paused: true }, "2026-01-05T10:10:00.000Z");
    s.wake();
    clock.advanceTo("2026-01-05T14:30:00Z");
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    deployment = changeDeployment(env, deployment, { paused: false }, "2026-01-05T14:30:00.000Z");
    s.wake();
    clock.advance(0);
    expect(jobsOf(env, deployment.id)).toHaveLength(1);
    clock.advanceTo("2026-01-05T15:00:00Z");
    expect(s.slotsOf(deployment.id).map((slot) => slot.slot_at)).toEqual([
      "2026-01-05T10:00:00.000Z",
      "2026-01-05T15:00:00.000Z",
    ]);
    s.stop();
  });

  it("re-plans at once on wake(): a new deployment's first slot is not slept through", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:00:00Z");
    addDeployment(env, [{ cron: "0 12 * * *" }], "2026-01-05T09:00:00.000Z");
    const s = new Scheduler(env.stores, env.jobs, { clock, maxSleepMs: 3_600_000 });
    s.start();
    expect(clock.nextTimerAt?.toISOString()).toBe("2026-01-05T10:00:00.000Z");
    const added = addDeployment(env, [{ cron: "5 9 * * *" }], "2026-01-05T09:00:00.000Z");
    s.wake();
    s.wake();
    expect(clock.pending).toBe(1);
    clock.advance(0);
    expect(clock.nextTimerAt?.toISOString()).toBe("2026-01-05T09:05:00.000Z");
    clock.advanceTo("2026-01-05T09:05:00Z");
    expect(jobsOf(env, added.id)).toHaveLength(1);
    s.stop();
  });

  it("starts a changed cron afresh at the change, not from the old schedule's slots", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    let deployment = addDeployment(env, [{ cron: "0 * * * *" }], "2026-01-05T09:30:00.000Z");
    const s = scheduler(env, clock);
    s.start();
    clock.advanceTo("2026-01-05T10:05:00Z");
    finishJob(env, jobsOf(env, deployment.id)[0], "2026-01-05T10:04:00.000Z");
    s.stop();
    // While stopped, the schedule becomes daily at 02:00; a day later the old hourly slots are
    // not owed, and the new one's slot before the change is not either.
    clock.advanceTo("2026-01-05T20:00:00Z");
    deployment = changeDeployment(
      env,
      deployment,
      { schedules: normalizeSchedules([{ cron: "0 2 * * *" }]) },
      "2026-01-05T20:00:00.000Z",
    );
    const again = scheduler(env, clock);
    expect(again.start()?.outcomes).toEqual([]);
    clock.advanceTo("2026-01-06T02:00:00Z");
    expect(again.slotsOf(deployment.id).map((slot) => slot.slot_at)).toEqual([
      "2026-01-05T10:00:00.000Z",
      "2026-01-06T02:00:00.000Z",
    ]);
    again.stop();
  });

  it("queues the full backup and skips the incremental when two schedules share a slot", () => {
    const env = environment();
    const clock = new ManualClock("2026-01-05T09:30:00Z");
    const deployment = addDeployment(
      env,
      [
        { cron: "0 * * * *", level: "incremental" },
        { cron: "0 10 * * *", level: "full" },
      ],
      "2026-01-05T09:30:00.000Z",
    );
    const s = scheduler(env, clock);
    s.start();
    clock.advanceTo("2026-01-05T10:00:00Z");
    const jobs = jobsOf(env, deployment.id);
    expect(jobs).toHaveLength(1);
    expect(JSON.parse(jobs[0].params)).toMatchObject({ level: "full" });
    expect(eventsOf(env, deployment.id, "skipped")[0].body).toMatchObject({
      schedule: 0,
      level: "incremental",
    });
    s.stop();
  });

  it("reports readiness while it runs", () => {
    const env = environment();
    const s = scheduler(env, new ManualClock("2026-01-05T09:30:00Z"));
    expect(s.readiness()).toMatchObject({ name: "scheduler", ok: false });
    s.start();
    expect(s.readiness()).toEqual({ name: "scheduler", ok: true });
    s.stop();
    expect(s.readiness().ok).toBe(false);
  });
});

describe("time zones", () => {
  /** Walks a day at a time, finishing each job, and answers the slots that ran. */
  function runDays(schedule: ScheduleInput, from: string, until: string) {
    const env = environment();
    const clock = new ManualClock(from);
    const deployment = addDeployment(env, [schedule], from);
    const s = scheduler(env, clock);
    s.start();
    const announced: string[] = [];
    for (;;) {
      // What the API shows as next_run_at is what must run next.
      const next = nextRunAt(settingsFromRow(deploymentRow(env, deployment.id)), clock.now());
      if (!next || next > until) break;
      announced.push(next);
      clock.advanceTo(next);
      for (const job of jobsOf(env, deployment.id))
        if (job.status === "QUEUED") finishJob(env, job, next);
    }
    s.stop();
    return { announced, ran: s.slotsOf(deployment.id).map((slot) => slot.slot_at) };
  }

  it("runs a daily slot at its local time across the spring-forward day (Europe/Berlin)", () => {
    const { announced, ran } = runDays(
      { cron: "30 2 * * *", time_zone: "Europe/Berlin" },
      "2026-03-27T12:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
    );
    // 02:30 CET; 02:30 does not exist on the 29th, so the first time after the gap (03:00 CEST);
    // then 02:30 CEST.
    expect(ran).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
    expect(ran).toEqual(announced);
  });

  it("runs a fixed time once on the fall-back day, when it happens twice (America/New_York)", () => {
    const { announced, ran } = runDays(
      { cron: "30 1 * * *", time_zone: "America/New_York" },
      "2026-10-31T12:00:00.000Z",
      "2026-11-03T00:00:00.000Z",
    );
    expect(ran).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    expect(ran).toEqual(announced);
  });

  it("keeps an interval schedule's slots through the repeated hour (Europe/Berlin)", () => {
    const { announced, ran } = runDays(
      { cron: "0 * * * *", time_zone: "Europe/Berlin" },
      "2026-10-24T23:30:00.000Z",
      "2026-10-25T03:00:00.000Z",
    );
    // 02:00 CEST, then 02:00 CET (the hour repeats), 03:00 CET, 04:00 CET: an hour apart in UTC.
    expect(ran).toEqual([
      "2026-10-25T00:00:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T02:00:00.000Z",
      "2026-10-25T03:00:00.000Z",
    ]);
    expect(ran).toEqual(announced);
  });

  it("runs a slot in its zone, not in UTC (Asia/Kolkata, a half-hour offset)", () => {
    const { ran } = runDays(
      { cron: "0 9 * * *", time_zone: "Asia/Kolkata" },
      "2026-01-05T00:00:00.000Z",
      "2026-01-06T12:00:00.000Z",
    );
    expect(ran).toEqual(["2026-01-05T03:30:00.000Z", "2026-01-06T03:30:00.000Z"]);
  });
});
