/**
 * Migration 8 keeps each backup's API view in its row, rewritten by triggers, and the listing
 * keeps pages while no backup changes. Whatever wrote the backup or its parts, the listing must
 * equal the view computed afresh from the row's columns and parts rows: after every kind of write
 * the catalog has (the same page asked each time), and after the migration's backfill.
 */
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import type { ControlClient } from "@stowage/control-client";
import type { BackupView, PartReport } from "../src/services/backup-catalog";
import type { Stores } from "../src/services/control-context";
import type { BackupPartRow, BackupRow } from "../src/store/backups-store";
import { migrate, type Db } from "../src/store/database";
import { MIGRATIONS } from "../src/store/migrations";
import {
  cancelQueuedFileDeletes,
  enrolledAgent,
  manifest,
  must,
  secondConnection,
  take,
  type PullSetup,
} from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

/** The spec's `Backup` from a row and its parts, written out independently of the SQL. */
function freshView(row: BackupRow, parts: readonly BackupPartRow[]): BackupView {
  return {
    id: row.id,
    deployment_id: row.deployment_id,
    sequence: row.sequence,
    level: row.level,
    parent_id: row.parent_id,
    session_id: row.session_id,
    state: row.state as BackupView["state"],
    failure_reason: row.failure_reason,
    trigger: row.trigger as BackupView["trigger"],
    job_id: row.job_id,
    metadata: JSON.parse(row.metadata) as BackupView["metadata"],
    sizes: {
      uncompressed_bytes: row.uncompressed_bytes,
      compressed_bytes: row.compressed_bytes,
      stored_bytes: row.stored_bytes,
      session_total_bytes: row.session_total_bytes,
    },
    sha256: row.sha256,
    locations: JSON.parse(row.locations) as BackupView["locations"],
    timings: {
      queued_at: row.queued_at,
      started_at: row.started_at,
      completed_at: row.completed_at,
      duration_ms: row.duration_ms,
    },
    parts: [...parts]
      .sort((a, b) => a.position - b.position)
      .map((part) => ({
        name: part.name,
        state: part.state as BackupView["state"],
        failure_reason: part.failure_reason,
        size_bytes: part.size_bytes,
        sha256: part.sha256,
        created_at: part.created_at,
        updated_at: part.updated_at,
        details: JSON.parse(part.details) as Record<string, unknown>,
      })),
    verification: row.verification
      ? (JSON.parse(row.verification) as BackupView["verification"])
      : null,
    hold: row.held === 1,
    hold_reason: row.hold_reason,
    held_at: row.held_at,
    deleted: row.deleted_at
      ? { at: row.deleted_at, by: row.deleted_by ?? "", reason: row.deleted_reason }
      : null,
    created_at: row.created_at,
  };
}

/** Every backup of the deployment, newest first, computed from its columns and parts rows. */
function freshViews(db: Db, deploymentId: string): BackupView[] {
  const rows = db
    .prepare<[string], BackupRow>(
      "SELECT * FROM backups WHERE deployment_id = ? ORDER BY sequence DESC",
    )
    .all(deploymentId);
  const partsOf = db.prepare<[string], BackupPartRow>(
    "SELECT * FROM backup_parts WHERE backup_id = ?",
  );
  return rows.map((row) => freshView(row, partsOf.all(row.id)));
}

describe("stored backup views", () => {
  let t: TestController;
  let db: Db;
  let stores: Stores;
  let client: ControlClient;
  let s: PullSetup;

  beforeAll(async () => {
    t = await startTestController();
    ({ db, stores } = secondConnection(t));
    client = t.client();
    const agent = await enrolledAgent(client, stores);
    const target = must(
      await client.POST("/v1/targets", {
        body: { type: "file", name: "views-disk", url: "file:///var/backups/stowage" },
      }),
    );
    // keep_last 2: the third success prunes, so retention's tombstones are among the writes.
    const deployment = must(
      await client.POST("/v1/deployments", {
        body: {
          name: "views-db",
          kind: "sqlite",
          connection: { path: "/srv/app.db" },
          driver: { type: "pull", agent_id: agent.id },
          target_ids: [target.id],
          retention: { keep_last: 2 },
        },
      }),
    );
    s = { deployment, agent, target };
  });
  afterAll(async () => {
    db.close();
    await t.stop();
  });

  /** The listing (tombstones included) as the controller answers it, against fresh views. */
  async function expectListingFresh(deployment: { id: string; name: string } = s.deployment) {
    const listed = must(
      await client.GET("/v1/deployments/{deployment}/backups", {
        params: {
          path: { deployment: deployment.name },
          query: { include_deleted: true, limit: 1000 },
        },
      }),
    );
    const fresh = freshViews(db, deployment.id);
    expect(fresh.length).toBeGreaterThan(0);
    expect(listed.items).toEqual(fresh);
  }

  const jobs = () => t.controller.jobs;
  const backupPath = (backup: string) => ({
    params: { path: { deployment: s.deployment.name, backup } },
  });
  const parts: PartReport[] = [
    { name: "partition-1", state: "COMPLETED", size_bytes: 10, details: { broker: 1 } },
    { name: "partition-2", state: "COMPLETED", size_bytes: 20, details: { broker: 2 } },
  ];
  let first = "";

  it("after a take (insert)", async () => {
    first = (await take(client, s.deployment.name)).backup_id ?? "";
    await expectListingFresh();
  });

  it("after a claim (started: parts replaced, state aggregated)", async () => {
    expect(jobs().claimNextJob(s.agent.id)).toBeDefined();
    await expectListingFresh();
  });

  it("after a lost lease (requeued: parts deleted)", async () => {
    const later = new Date(Date.now() + jobs().settings.leaseMs + 1000);
    expect(jobs().expireLeases(later).requeued).toHaveLength(1);
    await expectListingFresh();
  });

  it("after a success reporting several parts (results, parts, state)", async () => {
    const claimed = jobs().claimNextJob(s.agent.id);
    jobs().completeJob(s.agent.id, claimed?.id ?? "", {
      outcome: "succeeded",
      manifest: { ...manifest(), parts },
    });
    await expectListingFresh();
  });

  it("after a failure (unfinished parts FAILED with the reason)", async () => {
    const job = await take(client, s.deployment.name);
    jobs().claimNextJob(s.agent.id);
    jobs().completeJob(s.agent.id, job.id, {
      outcome: "failed",
      finished_at: new Date().toISOString(),
      message: `disk full ${randomUUID()}`,
      phase: "dump",
    });
    await expectListingFresh();
  });

  it("after a verification", async () => {
    const verify = await client.requestAs(
      "post",
      "/v1/deployments/{deployment}/backups/{backup}/verify",
      "application/json",
      backupPath(first),
    );
    jobs().claimNextJob(s.agent.id);
    jobs().completeJob(s.agent.id, verify.data?.result.id ?? "", {
      outcome: "succeeded",
      manifest: manifest(),
    });
    await expectListingFresh();
  });

  it("after a hold and after its release", async () => {
    must(
      await client.POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
        ...backupPath(first),
        body: { reason: "legal" },
      }),
    );
    await expectListingFresh();
    must(
      await client.DELETE("/v1/deployments/{deployment}/backups/{backup}/hold", backupPath(first)),
    );
    await expectListingFresh();
  });

  it("after a tombstone (DELETE)", async () => {
    must(await client.DELETE("/v1/deployments/{deployment}/backups/{backup}", backupPath(first)));
    await expectListingFresh();
  });

  it("after retention prunes", async () => {
    for (let index = 0; index < 3; index++) {
      const job = await take(client, s.deployment.name);
      jobs().claimNextJob(s.agent.id);
      jobs().completeJob(s.agent.id, job.id, { outcome: "succeeded", manifest: manifest() });
    }
    const pruned = db
      .prepare("SELECT count(*) FROM backups WHERE deployment_id = ? AND deleted_by = 'retention'")
      .pluck()
      .get(s.deployment.id);
    expect(pruned).toBeGreaterThan(0);
    await expectListingFresh();
  });

  it("after a write by another connection (another process)", async () => {
    await expectListingFresh();
    db.prepare("UPDATE backups SET failure_reason = 'edited elsewhere' WHERE id = ?").run(first);
    await expectListingFresh();
  });

  it("after a deployment of the same name adopts the backups", async () => {
    await cancelQueuedFileDeletes(client, s.deployment.name);
    const removed = await client.DELETE("/v1/deployments/{deployment}", {
      params: { path: { deployment: s.deployment.name } },
    });
    expect(removed.response.ok).toBe(true);
    const again = must(
      await client.POST("/v1/deployments", {
        body: {
          name: s.deployment.name,
          kind: "sqlite",
          connection: { path: "/srv/app.db" },
          driver: { type: "pull", agent_id: s.agent.id },
          target_ids: [s.target.id],
        },
      }),
    );
    expect(again.id).not.toBe(s.deployment.id);
    await expectListingFresh(again);
  });
});

describe("migration 8", () => {
  it("backfills the views of a catalog written before it", () => {
    const db = new Database(":memory:");
    db.pragma("foreign_keys = ON");
    db.exec(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    );
    for (const migration of MIGRATIONS.filter(({ version }) => version < 8)) {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations VALUES (?, 'then')").run(migration.version);
    }
    db.exec(`
      INSERT INTO tenants VALUES ('ten_1', 'root', NULL, 'then', 'then');
      INSERT INTO backups (id, tenant_id, deployment_id, deployment_name, sequence, level,
        parent_id, session_id, state, failure_reason, trigger, job_id, metadata, sha256,
        locations, queued_at, held, hold_reason, held_at, deleted_at, deleted_by, created_at)
      VALUES
        ('bak_1', 'ten_1', 'dep_1', 'db', 1, 'full', NULL, 'bak_1', 'COMPLETED', NULL,
         'schedule', 'job_1', '{"mode":"sqlite"}', 'ab', '[{"target_id":"tgt_1","url":"file:///a"}]',
         '2026-01-01T00:00:00.000Z', 1, 'audit', '2026-01-02T00:00:00.000Z', NULL, NULL,
         '2026-01-01T00:00:00.000Z'),
        ('bak_2', 'ten_1', 'dep_1', 'db', 2, 'incremental', 'bak_1', 'bak_1', 'FAILED', 'boom',
         'manual', NULL, '{}', NULL, '[]', '2026-01-03T00:00:00.000Z', 0, NULL, NULL,
         '2026-01-04T00:00:00.000Z', 'retention', '2026-01-03T00:00:00.000Z');
      INSERT INTO backup_parts VALUES
        ('bak_1', 1, 'b', 'COMPLETED', NULL, 2, 'cd', NULL, 'then', '{"k":[1]}'),
        ('bak_1', 0, 'a', 'COMPLETED', NULL, 1, 'ef', 'then', 'then', '{}'),
        ('bak_2', 0, 'a', 'FAILED', 'boom', NULL, NULL, NULL, 'then', '{}');
    `);

    migrate(db);

    const views = db
      .prepare<[], string>("SELECT view FROM backups ORDER BY sequence DESC")
      .pluck()
      .all()
      .map((view) => JSON.parse(view) as BackupView);
    expect(views).toEqual(freshViews(db, "dep_1"));
    expect(views.map((view) => view.parts.map((part) => part.name))).toEqual([["a"], ["a", "b"]]);
    db.close();
  });
});
