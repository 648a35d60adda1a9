/**
 * Keyset pagination must cost the same on page 10,000 as on page 1 (DESIGN 4): every listing is
 * an index seek that stops after `limit` rows, never a scan or a sort into a temp b-tree.
 */
import type { BackupView } from "../src/services/backup-catalog";
import { BACKUP_PAGE_SQL, BackupsStore, type BackupRow } from "../src/store/backups-store";
import { openDatabase, type Db } from "../src/store/database";
import { EVENT_PAGE_SQL, EventsStore } from "../src/store/events-store";

const STATES = ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "IN_PROGRESS"];
const PER_DEPLOYMENT = 20_000;

let db: Db;
let backups: BackupsStore;

function backup(deployment: string, sequence: number): BackupRow {
  const at = new Date(Date.UTC(2026, 0, 1) + sequence * 60_000).toISOString();
  return {
    id: `bak_${deployment}_${sequence}`,
    tenant_id: "ten_1",
    deployment_id: deployment,
    deployment_name: deployment,
    sequence,
    level: "full",
    parent_id: null,
    session_id: `bak_${deployment}_${sequence}`,
    state: STATES[sequence % STATES.length],
    failure_reason: null,
    trigger: "schedule",
    job_id: null,
    metadata: "{}",
    uncompressed_bytes: null,
    compressed_bytes: null,
    stored_bytes: null,
    session_total_bytes: null,
    sha256: null,
    locations: "[]",
    queued_at: at,
    started_at: null,
    completed_at: null,
    duration_ms: null,
    verification: null,
    held: 0,
    hold_reason: null,
    held_at: null,
    // Every seventh is tombstoned, so the live listings have something to leave out.
    deleted_at: sequence % 7 === 0 ? at : null,
    deleted_by: sequence % 7 === 0 ? "retention" : null,
    deleted_reason: null,
    created_at: at,
  };
}

beforeAll(() => {
  db = openDatabase(":memory:");
  db.prepare(
    "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('ten_1', 't', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
  ).run();
  backups = new BackupsStore(db);
  db.transaction(() => {
    for (const deployment of ["dep_a", "dep_b"]) {
      for (let sequence = 1; sequence <= PER_DEPLOYMENT; sequence++) {
        backups.insert(backup(deployment, sequence));
      }
    }
  })();
  const events = new EventsStore(db);
  db.transaction(() => {
    for (let index = 0; index < 5000; index++) {
      events.insert({
        public_id: `evt_${index}`,
        tenant_id: "ten_1",
        deployment_id: index % 2 ? "dep_a" : "dep_b",
        job_id: null,
        op: index % 3 ? "progress" : "skipped",
        severity: "info",
        subject: "{}",
        body: "{}",
        at: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
      });
    }
  })();
});
afterAll(() => db.close());

function plan(sql: string, params: Record<string, unknown>): string[] {
  return db
    .prepare<Record<string, unknown>, { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
    .all(params)
    .map((row) => row.detail);
}

describe("backup listing plans", () => {
  const params = { deployment: "dep_a", before: 10, limit: 51, state: "COMPLETED" };
  it.each(Object.entries(BACKUP_PAGE_SQL))("%s seeks an index and sorts nothing", (_name, sql) => {
    const details = plan(sql, params);
    expect(details).toEqual([expect.stringMatching(/^SEARCH backups USING (COVERING )?INDEX /)]);
    expect(details.join("\n")).not.toMatch(/TEMP B-TREE|^SCAN/m);
  });
});

describe("backup listing pages", () => {
  it.each([
    ["live", { includeDeleted: false }],
    ["with tombstones", { includeDeleted: true }],
    ["live, COMPLETED only", { includeDeleted: false, state: "COMPLETED" }],
    ["FAILED only, with tombstones", { includeDeleted: true, state: "FAILED" }],
  ] as const)(
    "%s: a deep page is the same slice as the filter over everything",
    (_name, filter) => {
      const expected = (before: number) =>
        Array.from({ length: PER_DEPLOYMENT }, (_, index) =>
          backup("dep_a", PER_DEPLOYMENT - index),
        )
          .filter((row) => row.sequence < before)
          .filter((row) => filter.includeDeleted || row.deleted_at === null)
          .filter((row) => !("state" in filter) || row.state === filter.state)
          .slice(0, 50)
          .map((row) => row.sequence);
      for (const before of [Number.MAX_SAFE_INTEGER, 10_000, 137]) {
        const page = backups.page({
          deploymentId: "dep_a",
          beforeSequence: before,
          limit: 50,
          ...filter,
        });
        expect(page.map((row) => row.sequence)).toEqual(expected(before));
        const owners = page.map((row) => (JSON.parse(row.view) as BackupView).deployment_id);
        expect(owners.every((owner) => owner === "dep_a")).toBe(true);
      }
    },
  );
});

describe("event listing plans", () => {
  const params = {
    tenant: "ten_1",
    after: 100,
    limit: 51,
    since: "2026-01-01T00:00:00Z",
    deployment: "dep_a",
    op: "skipped",
  };
  it.each(Object.entries(EVENT_PAGE_SQL))("%s seeks an index and sorts nothing", (_name, sql) => {
    const details = plan(sql, params);
    expect(details).toEqual([expect.stringMatching(/^SEARCH events USING (COVERING )?INDEX /)]);
    expect(details.join("\n")).not.toMatch(/TEMP B-TREE|^SCAN/m);
  });
});
