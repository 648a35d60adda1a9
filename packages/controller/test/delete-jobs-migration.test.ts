/**
 * Migration 12 rebuilds `jobs` to let its kind be `delete`: a database written before it keeps
 * every job with its phases, logs and events (the children a dropped parent table would have
 * taken with it), its counts, and its foreign keys, which are on again afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { migrate } from "../src/store/database";
import { MIGRATIONS } from "../src/store/migrations";

let dir: string;
let db: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "stowage-migration-12-"));
  db = new Database(path.join(dir, "stowage.db"));
  db.pragma("foreign_keys = ON");
  db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  for (const migration of MIGRATIONS.filter(({ version }) => version < 12)) {
    db.exec(migration.sql);
    db.prepare("INSERT INTO schema_migrations VALUES (?, 'then')").run(migration.version);
  }
  db.exec(`
    INSERT INTO tenants VALUES ('ten_1', 'root', NULL, 'then', 'then');
    INSERT INTO jobs (id, tenant_id, deployment_id, kind, status, phase, trigger, attempt,
      requeues, params, created_at, started_at, ended_at)
    VALUES
      ('job_1', 'ten_1', 'dep_1', 'backup', 'SUCCEEDED', 'finished', 'schedule', 1, 0, '{}',
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:09.000Z'),
      ('job_2', 'ten_1', 'dep_1', 'verify', 'QUEUED', NULL, 'manual', 0, 0, '{}',
       '2026-01-02T00:00:00.000Z', NULL, NULL);
    INSERT INTO job_phases (job_id, position, name, status, started_at, ended_at, log)
    VALUES ('job_1', 0, 'dump', 'SUCCEEDED', '2026-01-01T00:00:01.000Z',
      '2026-01-01T00:00:09.000Z', 'dumped');
    INSERT INTO job_logs (job_id, at, level, fields, message)
    VALUES ('job_1', '2026-01-01T00:00:02.000Z', 'info', '{}', 'dumping');
    INSERT INTO events (public_id, tenant_id, deployment_id, job_id, op, severity, subject, body, at)
    VALUES ('evt_1', 'ten_1', 'dep_1', 'job_1', 'backup_completed', 'notice', '{}', '{}',
      '2026-01-01T00:00:09.000Z');
  `);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = (sql: string) => db.prepare<[], number>(sql).pluck().get();
const jobCounts = () =>
  db
    .prepare<[], { label: string; count: number }>(
      "SELECT label, count FROM catalog_counts WHERE metric = 'jobs' AND count <> 0 ORDER BY label",
    )
    .all();

it("keeps every job with its phases, logs, events and counts, and takes delete jobs", () => {
  const countsBefore = jobCounts();
  expect(countsBefore).toEqual([
    { label: "QUEUED", count: 1 },
    { label: "SUCCEEDED", count: 1 },
  ]);

  migrate(db);
  expect(count("SELECT count(*) FROM schema_migrations WHERE version = 12")).toBe(1);

  expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
  expect(db.pragma("foreign_key_check")).toEqual([]);
  expect(db.prepare("SELECT id, kind, status FROM jobs ORDER BY id").all()).toEqual([
    { id: "job_1", kind: "backup", status: "SUCCEEDED" },
    { id: "job_2", kind: "verify", status: "QUEUED" },
  ]);
  expect(count("SELECT count(*) FROM job_phases WHERE job_id = 'job_1'")).toBe(1);
  expect(count("SELECT count(*) FROM job_logs WHERE job_id = 'job_1'")).toBe(1);
  expect(count("SELECT count(*) FROM events WHERE job_id = 'job_1'")).toBe(1);
  expect(jobCounts()).toEqual(countsBefore);

  db.exec(`INSERT INTO jobs (id, tenant_id, deployment_id, kind, status, trigger, params, created_at)
    VALUES ('job_3', 'ten_1', 'dep_1', 'delete', 'QUEUED', 'retention', '{}', 'now')`);
  expect(() =>
    db.exec(`INSERT INTO jobs (id, tenant_id, deployment_id, kind, status, trigger, params,
      created_at) VALUES ('job_4', 'ten_1', 'dep_1', 'purge', 'QUEUED', 'manual', '{}', 'now')`),
  ).toThrow(/CHECK constraint failed/);
  // The rebuilt table's triggers count, and its children still cascade from it.
  expect(jobCounts()).toEqual([
    { label: "QUEUED", count: 2 },
    { label: "SUCCEEDED", count: 1 },
  ]);
  db.exec("DELETE FROM jobs WHERE id = 'job_1'");
  expect(count("SELECT count(*) FROM job_phases")).toBe(0);
  expect(count("SELECT count(*) FROM job_logs")).toBe(0);
  expect(count("SELECT count(*) FROM events")).toBe(0);
  expect(jobCounts()).toEqual([{ label: "QUEUED", count: 2 }]);
});

it("rebuilds the indexes the job queries seek", () => {
  migrate(db);
  const indexes = db
    .prepare<[], string>(
      "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL ORDER BY name",
    )
    .pluck()
    .all();
  expect(indexes).toEqual(
    expect.arrayContaining([
      "jobs_active",
      "jobs_by_deployment",
      "jobs_by_tenant",
      "jobs_by_tenant_status",
      "jobs_finished_by_end",
      "jobs_leases",
      "jobs_queued",
      "jobs_running_by_agent",
    ]),
  );
});
