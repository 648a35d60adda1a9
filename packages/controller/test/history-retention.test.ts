/**
 * History retention (DESIGN 4): events, job log lines, finished jobs and audit entries go after
 * their retention, in bounded batches, and pruning the audit log leaves a chain that verifies,
 * in which tampering is still detected. The pruner runs on a second connection with a `now` in
 * the future (or rows are aged by SQL), against a real controller's database.
 */
import { resolveConfig } from "../src/config/controller-config";
import type { Stores } from "../src/services/control-context";
import { HistoryPruner, type HistoryRetentionSettings } from "../src/services/history-retention";
import type { Db } from "../src/store/database";
import { completedBackup, must, pullSetup, secondConnection, take } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

const DAY_MS = 86_400_000;
const KEEP_ALL: HistoryRetentionSettings = {
  eventDays: 0,
  logDays: 0,
  auditDays: 0,
  jobDays: 0,
  batchSize: 1000,
  intervalMs: 600_000,
};

const inDays = (days: number) => new Date(Date.now() + days * DAY_MS);

async function verifyChain(t: TestController) {
  return must(await t.client().POST("/v1/audit/verify-chain"));
}

/** The root tenant's audit entries, oldest first whatever order the listing uses. */
async function auditEntries(t: TestController) {
  const page = must(await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } }));
  return [...page.items].sort((a, b) => a.sequence - b.sequence);
}

async function createTokens(t: TestController, count: number) {
  for (let index = 0; index < count; index++) {
    must(
      await t.client().POST("/v1/tokens", {
        body: { name: `token-${index}`, verbs: ["backup:read"] },
      }),
    );
  }
}

describe("audit retention", () => {
  /** A controller whose audit log had entries, all of them pruned but the newest. */
  async function pruned(batchSize = 2): Promise<{ t: TestController; db: Db; removed: number }> {
    const t = await startTestController();
    await createTokens(t, 6);
    const { db, stores } = secondConnection(t);
    const counts = await new HistoryPruner(stores, {
      ...KEEP_ALL,
      auditDays: 365,
      batchSize,
    }).prune(inDays(400));
    return { t, db, removed: counts.audit };
  }

  async function withPruned(check: (t: TestController, db: Db) => Promise<void>) {
    const { t, db } = await pruned();
    try {
      await check(t, db);
    } finally {
      db.close();
      await t.stop();
    }
  }

  it("removes old entries in batches; verify-chain then starts at the checkpoint and is ok", async () => {
    const { t, db, removed } = await pruned();
    try {
      // bootstrap tenant + token, six tokens: eight entries, and the prune records in between.
      expect(removed).toBeGreaterThanOrEqual(8);
      const checkpoint = db
        .prepare<[], { sequence: number; record_sequence: number }>(
          "SELECT sequence, record_sequence FROM audit_checkpoint",
        )
        .get();
      const kept = await auditEntries(t);
      // What is left starts right after the checkpoint and holds the prune's own record.
      expect(kept[0].sequence).toBe((checkpoint?.sequence ?? 0) + 1);
      expect(kept.find((entry) => entry.sequence === checkpoint?.record_sequence)).toMatchObject({
        action: "audit.prune",
        actor: { type: "system", id: null },
        details: { through_sequence: checkpoint?.sequence },
      });
      expect(await verifyChain(t)).toMatchObject({
        ok: true,
        first_broken: null,
        checked: kept.length,
      });
      // New entries chain on from the kept head.
      await createTokens(t, 2);
      expect(await verifyChain(t)).toMatchObject({ ok: true, checked: kept.length + 2 });
      // A second pass finds nothing more (the prune records alone are not pruned again and again).
      const { db: again, stores } = secondConnection(t);
      const before = (await auditEntries(t)).length;
      const counts = await new HistoryPruner(stores, { ...KEEP_ALL, auditDays: 365 }).prune(
        new Date(),
      );
      again.close();
      expect(counts.audit).toBe(0);
      expect((await auditEntries(t)).length).toBe(before);
    } finally {
      db.close();
      await t.stop();
    }
  });

  it("keeps entries younger than the retention; once all are old, only its own records are left", async () => {
    const t = await startTestController();
    const { db, stores } = secondConnection(t);
    try {
      await createTokens(t, 3);
      const pruner = new HistoryPruner(stores, { ...KEEP_ALL, auditDays: 365 });
      expect((await pruner.prune(new Date())).audit).toBe(0);
      const all = await auditEntries(t);
      // At +400 days everything is old. A batch never removes the newest entry (the next append
      // chains from it), but the prune record it appends is newer still: the next batch takes
      // the rest, and a prefix of prune records alone is left.
      expect((await pruner.prune(inDays(400))).audit).toBe(all.length);
      const kept = await auditEntries(t);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.every((entry) => entry.action === "audit.prune")).toBe(true);
      expect(kept[0].sequence).toBe(all[all.length - 1].sequence + 1);
      expect(await verifyChain(t)).toMatchObject({ ok: true, checked: kept.length });
    } finally {
      db.close();
      await t.stop();
    }
  });

  it("still detects an entry edited after pruning", () =>
    withPruned(async (t, db) => {
      await createTokens(t, 2);
      const [first] = await auditEntries(t);
      db.prepare("UPDATE audit_entries SET details = ? WHERE sequence = ?").run(
        JSON.stringify({ name: "forged" }),
        first.sequence + 1,
      );
      expect(await verifyChain(t)).toMatchObject({
        ok: false,
        first_broken: { sequence: first.sequence + 1, reason: "hash_mismatch" },
      });
    }));

  it("still detects the oldest kept entry removed (a gap after the checkpoint)", () =>
    withPruned(async (t, db) => {
      await createTokens(t, 2);
      const [first] = await auditEntries(t);
      db.prepare("DELETE FROM audit_entries WHERE sequence = ?").run(first.sequence);
      expect(await verifyChain(t)).toMatchObject({
        ok: false,
        first_broken: {
          sequence: first.sequence + 1,
          reason: "sequence_gap",
          expected: String(first.sequence),
        },
      });
    }));

  it("detects entries removed with the checkpoint moved along by hand", () =>
    withPruned(async (t, db) => {
      await createTokens(t, 3);
      const entries = await auditEntries(t);
      // The forger removes the two oldest kept entries and moves the checkpoint past them: every
      // kept entry links up, but the prune's own record no longer agrees with the checkpoint.
      const last = entries[1];
      db.prepare("DELETE FROM audit_entries WHERE sequence <= ?").run(last.sequence);
      db.prepare("UPDATE audit_checkpoint SET sequence = ?, hash = ?").run(
        last.sequence,
        last.hash,
      );
      const verified = await verifyChain(t);
      expect(verified.ok).toBe(false);
      expect(verified.first_broken?.reason).toMatch(/prev_hash_mismatch|sequence_gap/);
    }));

  it("detects a checkpoint whose hash was changed", () =>
    withPruned(async (t, db) => {
      const [first] = await auditEntries(t);
      db.prepare("UPDATE audit_checkpoint SET hash = ?").run("f".repeat(64));
      expect(await verifyChain(t)).toMatchObject({
        ok: false,
        first_broken: { sequence: first.sequence, reason: "prev_hash_mismatch" },
      });
    }));
});

describe("events, logs and finished jobs", () => {
  let t: TestController;
  let db: Db;
  let stores: Stores;
  beforeAll(async () => {
    t = await startTestController();
    ({ db, stores } = secondConnection(t));
  });
  afterAll(async () => {
    db.close();
    await t.stop();
  });

  const count = (sql: string, ...params: string[]) =>
    db.prepare<string[], { n: number }>(`SELECT count(*) AS n FROM (${sql})`).get(...params)?.n ??
    0;

  /** A finished job with log lines, and a running one with log lines. */
  async function jobsWithLogs() {
    const client = t.client();
    const setup = await pullSetup(client, stores);
    const finished = await take(client, setup.deployment.name);
    t.controller.jobs.claimNextJob(setup.agent.id);
    const lines = Array.from({ length: 5 }, (_, index) => ({
      timestamp: new Date().toISOString(),
      level: "info" as const,
      message: `line ${index}`,
    }));
    t.controller.jobs.appendJobLogs(setup.agent.id, finished.id, lines);
    t.controller.jobs.completeJob(setup.agent.id, finished.id, {
      outcome: "failed",
      finished_at: new Date().toISOString(),
      message: "disk full",
    });
    const running = await take(client, setup.deployment.name);
    t.controller.jobs.claimNextJob(setup.agent.id);
    t.controller.jobs.appendJobLogs(setup.agent.id, running.id, lines);
    return { setup, finished, running };
  }

  it("log retention removes a finished job's lines, keeps the job and a running job's lines", async () => {
    const { finished, running } = await jobsWithLogs();
    const pruner = new HistoryPruner(stores, { ...KEEP_ALL, logDays: 30, batchSize: 2 });
    expect((await pruner.prune(inDays(29))).logs).toBe(0);
    const counts = await pruner.prune(inDays(31));
    expect(counts.logs).toBeGreaterThanOrEqual(5);
    expect(count("SELECT id FROM job_logs WHERE job_id = ?", finished.id)).toBe(0);
    expect(count("SELECT id FROM job_logs WHERE job_id = ?", running.id)).toBe(5);
    // The job itself, its phases' truncated copies and its events stay.
    const job = must(
      await t.client().GET("/v1/jobs/{job}", { params: { path: { job: finished.id } } }),
    );
    expect(job.status).toBe("FAILED");
    expect(count("SELECT id FROM events WHERE job_id = ?", finished.id)).toBeGreaterThan(0);
    // The walk remembers where it got to: the next pass does not start over.
    const cursor = db
      .prepare<[], { position: string }>(
        "SELECT position FROM retention_cursors WHERE name = 'job_logs'",
      )
      .get();
    expect(JSON.parse(cursor?.position ?? "{}")).toMatchObject({ id: expect.any(String) });
    expect((await pruner.prune(inDays(31))).logs).toBe(0);
  });

  it("job retention forgets finished jobs with their lines and events, never a running one", async () => {
    const { finished, running } = await jobsWithLogs();
    const pruner = new HistoryPruner(stores, { ...KEEP_ALL, jobDays: 90, batchSize: 3 });
    const counts = await pruner.prune(inDays(91));
    expect(counts.jobs).toBeGreaterThanOrEqual(1);
    const gone = await t.client().GET("/v1/jobs/{job}", {
      params: { path: { job: finished.id } },
    });
    expect(gone.response.status).toBe(404);
    expect(count("SELECT id FROM events WHERE job_id = ?", finished.id)).toBe(0);
    expect(count("SELECT id FROM job_logs WHERE job_id = ?", finished.id)).toBe(0);
    const kept = must(
      await t.client().GET("/v1/jobs/{job}", { params: { path: { job: running.id } } }),
    );
    expect(kept.status).toBe("RUNNING");
    expect(count("SELECT id FROM job_logs WHERE job_id = ?", running.id)).toBe(5);
    // The trigger-kept counts behind the metrics follow the deletes.
    const counted = db
      .prepare<[], { count: number }>(
        "SELECT count FROM catalog_counts WHERE metric = 'jobs' AND label = 'FAILED'",
      )
      .get();
    expect(counted?.count).toBe(count("SELECT id FROM jobs WHERE status = 'FAILED'"));
  });

  it("event retention removes old events in batches of at most batchSize", async () => {
    const setup = await pullSetup(t.client(), stores);
    await completedBackup(t, t.client(), setup);
    const old = count("SELECT id FROM events");
    expect(old).toBeGreaterThan(4);
    const pruner = new HistoryPruner(stores, { ...KEEP_ALL, eventDays: 7, batchSize: 4 });
    const first = pruner.pruneBatch(inDays(8));
    expect(first).toMatchObject({ counts: { events: 4 }, done: false });
    const rest = await pruner.prune(inDays(8));
    expect(first.counts.events + rest.events).toBe(old);
    expect(count("SELECT id FROM events")).toBe(0);
    // The tenant's event listing is empty, and new events come as before.
    await take(t.client(), setup.deployment.name);
    const page = await t
      .client()
      .requestAs("get", "/v1/events", "application/json", { params: { query: {} } });
    expect(page.data?.result.items.map((event) => event.op)).toEqual(["job_queued"]);
  });
});

describe("the controller's retention timer", () => {
  it("prunes by itself with the configured retention, and logs what it removed", async () => {
    const t = await startTestController({
      eventRetentionDays: 1,
      auditRetentionDays: 0,
      retentionIntervalMs: 100,
    });
    const { db, stores } = secondConnection(t);
    try {
      const setup = await pullSetup(t.client(), stores);
      await take(t.client(), setup.deployment.name);
      const events = db.prepare<[], { id: number }>("SELECT id FROM events ORDER BY id").all();
      expect(events.length).toBeGreaterThan(0);
      // The first event is aged past the retention; the others are fresh.
      db.prepare("UPDATE events SET at = ? WHERE id = ?").run(
        new Date(Date.now() - 2 * DAY_MS).toISOString(),
        events[0].id,
      );
      const deadline = Date.now() + 5000;
      while (db.prepare("SELECT 1 FROM events WHERE id = ?").get(events[0].id) !== undefined) {
        if (Date.now() > deadline) throw new Error("the old event was not pruned");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(db.prepare<[], { n: number }>("SELECT count(*) AS n FROM events").get()?.n).toBe(
        events.length - 1,
      );
      expect(t.logs.some((line) => line.includes("retention removed old history"))).toBe(true);
      // auditRetentionDays 0 keeps the audit log whole.
      expect(db.prepare("SELECT 1 FROM audit_checkpoint").get()).toBeUndefined();
    } finally {
      db.close();
      await t.stop();
    }
  });

  it("reads retention settings from flags and STOWAGE_* variables, and rejects ones out of range", () => {
    expect(() => resolveConfig({ eventRetentionDays: "-1" }, {}, process.cwd())).toThrow(
      /eventRetentionDays/,
    );
    expect(resolveConfig({}, { STOWAGE_AUDIT_RETENTION_DAYS: "0" }, process.cwd())).toMatchObject({
      auditRetentionDays: 0,
      logRetentionDays: 30,
      eventRetentionDays: 90,
    });
  });
});
