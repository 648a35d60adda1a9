/**
 * What the controller benchmarks share: a seeded data directory (a tenant, tokens, targets, one
 * deployment and its backup catalog, all written through the controller's own services and
 * stores) and the real controller in a child process on 127.0.0.1, so the load generator never
 * shares its event loop.
 *
 * Run as a script, this file is that child: it starts the controller on a data directory and
 * answers the parent over IPC (`server-process.ts`).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { resolveConfig } from "../../packages/controller/src/config/controller-config";
import { startController } from "../../packages/controller/src/controller-server";
import { bootstrapAdmin } from "../../packages/controller/src/services/bootstrap-admin";
import {
  createStores,
  type CallContext,
  type Stores,
} from "../../packages/controller/src/services/control-context";
import { DeploymentsService } from "../../packages/controller/src/services/deployments-service";
import type { OperatorPrincipal } from "../../packages/controller/src/services/principal";
import { TargetsService } from "../../packages/controller/src/services/targets-service";
import { TokensService } from "../../packages/controller/src/services/tokens-service";
import type { BackupPartRow, BackupRow } from "../../packages/controller/src/store/backups-store";
import { checkpoint, openDatabase, type Db } from "../../packages/controller/src/store/database";
import { forkServer, serveOverIpc, type ServerProcess } from "./server-process";

export const DEPLOYMENT_NAME = "orders-db";

export interface SeededCatalog {
  db: Db;
  stores: Stores;
  /** The `admin:*` token the first start wrote to `<dataDir>/admin-token`. */
  adminToken: string;
  /** An operator token with `backup:read` only: what the measured requests carry. */
  readerToken: string;
  /** A call context as the reader token's handlers get it, for service-level timings. */
  readerCall: CallContext<OperatorPrincipal>;
  deployment: { id: string; name: string };
  backups: number;
  /** Whether the directory held a catalog already (nothing was inserted). */
  reused: boolean;
  /** Wall time of the insert transaction; NaN when reused. */
  insertMs: number;
}

/**
 * Opens (and migrates) `<dataDir>/stowage.db` as the controller would. A fresh directory is
 * seeded: the admin token bootstrapped as on a first start, three targets and a MySQL deployment
 * created through the services, then `backups` backups (`partsPerBackup` parts each) in one
 * transaction: through `BackupsStore.insert`/`insertPart` (`loader: "store"`, the store's prepared
 * statements) or one `INSERT ... SELECT` per table (`"sql"`, for a million rows). A directory
 * seeded before is reused as it is (it must hold `backups` backups).
 * Either way a reader token (`backup:read` only) is created. The database stays open: close it
 * with `closeSeeded` before another process writes to it.
 */
export function openCatalog(
  dataDir: string,
  options: { backups: number; partsPerBackup: number; loader: "store" | "sql" },
): SeededCatalog {
  const config = resolveConfig({ dataDir }, {}, dataDir);
  const reused = existsSync(config.database);
  const db = openDatabase(config.database);
  const stores = createStores(db);
  const tokens = new TokensService(stores);
  bootstrapAdmin(stores, tokens, dataDir);
  const adminToken = readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
  const admin: CallContext<OperatorPrincipal> = {
    principal: tokens.authenticate(adminToken),
    requestId: "bench-seed",
  };
  const reader = tokens.create(admin, { name: "bench-reader", verbs: ["backup:read"] });
  const readerCall = { principal: tokens.authenticate(reader.secret), requestId: "bench-reader" };

  if (reused) {
    const deployment = stores.deployments.byName(admin.principal.tenantId, DEPLOYMENT_NAME);
    if (!deployment || deployment.last_sequence !== options.backups) {
      throw new Error(
        `${dataDir} holds ${deployment?.last_sequence ?? 0} backups of ${DEPLOYMENT_NAME}, not ${options.backups}: use another directory`,
      );
    }
    return {
      db,
      stores,
      adminToken,
      readerToken: reader.secret,
      readerCall,
      deployment: { id: deployment.id, name: deployment.name },
      backups: options.backups,
      reused: true,
      insertMs: Number.NaN,
    };
  }

  const targets = new TargetsService(stores);
  const primary = targets.create(admin, {
    type: "file",
    name: "local-disk",
    url: "file:///var/backups/stowage",
  });
  const secondary = targets.create(admin, {
    type: "file",
    name: "nas-copy",
    url: "file:///mnt/nas/stowage",
  });
  // The script agent uploads to S3 only; the seeded backups' copies are on the file targets.
  const offsite = targets.create(admin, {
    type: "s3",
    name: "offsite-s3",
    url: "s3://orders-backups/stowage",
    access_key_id: "AKIABENCHEXAMPLE",
    secret_access_key: "bench-secret",
  });
  const { deployment } = new DeploymentsService(stores).create(admin, {
    name: DEPLOYMENT_NAME,
    kind: "mysql",
    connection: {
      host: "orders-db-1.internal",
      username: "backup",
      password: "bench-secret",
      databases: ["orders"],
    },
    driver: {
      type: "script-agent",
      url: "https://orders-db-1.internal:8000",
      username: "admin",
      password: "bench-secret",
    },
    target_ids: [primary.id, secondary.id, offsite.id],
    retention: { keep_last: 10 },
    encryption: { algorithm: "aes-256-gcm", key_ref: "env:STOWAGE_BENCH_KEY" },
  });

  const start = performance.now();
  const shape: CatalogShape = {
    tenantId: deployment.tenant_id,
    deploymentId: deployment.id,
    targetIds: [primary.id, secondary.id],
    backups: options.backups,
    partsPerBackup: options.partsPerBackup,
  };
  if (options.loader === "sql") insertWithSql(db, stores, shape);
  else insertWithStore(db, stores, shape);
  const insertMs = performance.now() - start;

  return {
    db,
    stores,
    adminToken,
    readerToken: reader.secret,
    readerCall,
    deployment: { id: deployment.id, name: deployment.name },
    backups: options.backups,
    reused: false,
    insertMs,
  };
}

// ---------------------------------------------------------------------------------------------
// The catalog: the same rows from the store's statements or from one INSERT ... SELECT

/**
 * Backups shaped like the spec's example: a full every seventh sequence and incrementals on it,
 * Freezer metadata, two locations, one part per database, one FAILED backup in fifty (its last
 * part failed), ten minutes apart. Ids have the length of `newId` ids and sort by sequence, as
 * those sort by creation time. Both loaders write these rows; only the random digests differ.
 */
interface CatalogShape {
  tenantId: string;
  deploymentId: string;
  targetIds: [string, string];
  backups: number;
  partsPerBackup: number;
}

const EPOCH_MS = Date.UTC(2024, 0, 1);
const SPACING_MS = 600_000;
const PART_NAMES = ["orders", "customers", "inventory", "billing"];
const FAILURE = "mariadb-dump exited with code 2";
const METADATA = JSON.stringify({
  host_name: "orders-db-1.internal",
  backup_name: DEPLOYMENT_NAME,
  mode: "mysql",
  engine: "mariadb-dump",
  engine_version: "10.11.6",
  tool_version: "stowage-agent 1.0.0",
  client_os: "linux",
  compression_alg: "gzip",
  encrypted: true,
  encryption_algorithm: "aes-256-gcm",
  key_ref: "file:/etc/stowage/keys/orders-db.key",
  databases: ["orders", "customers"],
});

function checkShape(shape: CatalogShape): void {
  if (shape.partsPerBackup < 1 || shape.partsPerBackup > PART_NAMES.length) {
    throw new Error(`parts per backup: 1 to ${PART_NAMES.length}`);
  }
}

/**
 * Bulk settings for this connection only, restored after: the triggers on `backups` make each
 * INSERT keep a statement journal, a temp file unless temp storage is in memory (measured: ~5x
 * slower), and a 256 MiB cache keeps a big transaction from spilling into the WAL early.
 */
function bulk(db: Db, load: () => void): void {
  const cacheSize = db.pragma("cache_size", { simple: true }) as number;
  const tempStore = db.pragma("temp_store", { simple: true }) as number;
  db.pragma("temp_store = MEMORY");
  db.pragma("cache_size = -262144");
  try {
    db.transaction(load)();
  } finally {
    db.pragma(`cache_size = ${cacheSize}`);
    db.pragma(`temp_store = ${tempStore}`);
  }
}

/** Through `BackupsStore.insert` and `insertPart`, the controller's prepared statements. */
function insertWithStore(db: Db, stores: Stores, shape: CatalogShape): void {
  checkShape(shape);
  const idOf = (sequence: number) =>
    `bak_${String(sequence).padStart(9, "0")}${sequence.toString(16).padStart(16, "0")}`;
  const iso = (ms: number) => new Date(ms).toISOString();
  // Digests from a pool of random bytes refilled 4,096 at a time: one call per digest costs
  // about as much as the insert it is for.
  let pool = Buffer.alloc(0);
  let offset = 0;
  const digest = () => {
    if (offset >= pool.length) {
      pool = randomBytes(32 * 4096);
      offset = 0;
    }
    offset += 32;
    return pool.toString("hex", offset - 32, offset);
  };

  bulk(db, () => {
    for (let sequence = 1; sequence <= shape.backups; sequence++) {
      const id = idOf(sequence);
      const fullSequence = sequence - ((sequence - 1) % 7);
      const failed = sequence % 50 === 0;
      const queued = EPOCH_MS + sequence * SPACING_MS;
      const stored = 151_519_260 + (sequence % 1000) * 4096;
      const file = `${DEPLOYMENT_NAME}/${id}.sql.gz.enc`;
      const backup: BackupRow = {
        id,
        tenant_id: shape.tenantId,
        deployment_id: shape.deploymentId,
        deployment_name: DEPLOYMENT_NAME,
        sequence,
        level: sequence === fullSequence ? "full" : "incremental",
        parent_id: sequence === fullSequence ? null : idOf(sequence - 1),
        session_id: idOf(fullSequence),
        state: failed ? "FAILED" : "COMPLETED",
        failure_reason: failed ? FAILURE : null,
        trigger: sequence % 10 === 0 ? "manual" : "schedule",
        job_id: `job_${id.slice(4)}`,
        metadata: METADATA,
        uncompressed_bytes: failed ? null : 734_003_200,
        compressed_bytes: failed ? null : 151_519_232,
        stored_bytes: failed ? null : stored,
        session_total_bytes: failed ? null : stored * (sequence - fullSequence + 1),
        sha256: failed ? null : digest(),
        locations: failed
          ? "[]"
          : JSON.stringify([
              { target_id: shape.targetIds[0], url: `file:///var/backups/stowage/${file}` },
              { target_id: shape.targetIds[1], url: `file:///mnt/nas/stowage/${file}` },
            ]),
        queued_at: iso(queued),
        started_at: iso(queued + 1_000),
        completed_at: failed ? null : iso(queued + 134_000),
        duration_ms: failed ? null : 133_000,
        verification: null,
        held: 0,
        hold_reason: null,
        held_at: null,
        deleted_at: null,
        deleted_by: null,
        deleted_reason: null,
        created_at: iso(queued),
      };
      stores.backups.insert(backup);
      for (let position = 0; position < shape.partsPerBackup; position++) {
        const partFailed = failed && position === shape.partsPerBackup - 1;
        const part: BackupPartRow = {
          backup_id: id,
          position,
          name: PART_NAMES[position],
          state: partFailed ? "FAILED" : "COMPLETED",
          failure_reason: partFailed ? FAILURE : null,
          size_bytes: partFailed ? null : 29_884_416 + position * 1_048_576,
          sha256: partFailed ? null : digest(),
          created_at: iso(queued + 1_000),
          updated_at: iso(queued + 134_000),
          details: "{}",
        };
        stores.backups.insertPart(part);
      }
    }
    stores.deployments.advanceLastSequence(shape.deploymentId, shape.backups);
  });
}

/**
 * The same rows in two statements, `INSERT INTO ... WITH RECURSIVE ... SELECT`, computed inside
 * SQLite: about 3x less CPU than a million `run` calls, because one statement keeps one statement
 * journal and no row crosses into JavaScript. Plain better-sqlite3 on the migrated schema.
 */
const INSERT_BACKUPS_SQL = `
  INSERT INTO backups (id, tenant_id, deployment_id, deployment_name, sequence, level, parent_id,
    session_id, state, failure_reason, trigger, job_id, metadata, uncompressed_bytes,
    compressed_bytes, stored_bytes, session_total_bytes, sha256, locations, queued_at,
    started_at, completed_at, duration_ms, verification, held, hold_reason, held_at,
    deleted_at, deleted_by, deleted_reason, created_at)
  WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < @count),
  numbered AS (
    SELECT n, n % 50 = 0 AS failed, n - ((n - 1) % 7) AS full_n,
      (@epoch_ms + n * @spacing_ms) / 1000.0 AS queued,
      151519260 + (n % 1000) * 4096 AS stored,
      printf('bak_%09d%016x', n, n) AS id
    FROM seq)
  SELECT id, @tenant, @deployment, @name, n,
    CASE WHEN n = full_n THEN 'full' ELSE 'incremental' END,
    CASE WHEN n = full_n THEN NULL ELSE printf('bak_%09d%016x', n - 1, n - 1) END,
    printf('bak_%09d%016x', full_n, full_n),
    CASE WHEN failed THEN 'FAILED' ELSE 'COMPLETED' END,
    CASE WHEN failed THEN @failure END,
    CASE WHEN n % 10 = 0 THEN 'manual' ELSE 'schedule' END,
    'job_' || substr(id, 5), @metadata,
    CASE WHEN failed THEN NULL ELSE 734003200 END,
    CASE WHEN failed THEN NULL ELSE 151519232 END,
    CASE WHEN failed THEN NULL ELSE stored END,
    CASE WHEN failed THEN NULL ELSE stored * (n - full_n + 1) END,
    CASE WHEN failed THEN NULL ELSE lower(hex(randomblob(32))) END,
    CASE WHEN failed THEN '[]' ELSE json_array(
      json_object('target_id', @target1,
        'url', 'file:///var/backups/stowage/' || @name || '/' || id || '.sql.gz.enc'),
      json_object('target_id', @target2,
        'url', 'file:///mnt/nas/stowage/' || @name || '/' || id || '.sql.gz.enc')) END,
    strftime('%Y-%m-%dT%H:%M:%fZ', queued, 'unixepoch'),
    strftime('%Y-%m-%dT%H:%M:%fZ', queued + 1, 'unixepoch'),
    CASE WHEN failed THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', queued + 134, 'unixepoch') END,
    CASE WHEN failed THEN NULL ELSE 133000 END,
    NULL, 0, NULL, NULL, NULL, NULL, NULL,
    strftime('%Y-%m-%dT%H:%M:%fZ', queued, 'unixepoch')
  FROM numbered`;

const INSERT_PARTS_SQL = `
  INSERT INTO backup_parts (backup_id, position, name, state, failure_reason, size_bytes, sha256,
    created_at, updated_at, details)
  WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < @count),
  parts AS (
    SELECT n, CAST(part.key AS INTEGER) AS position, part.value AS name,
      n % 50 = 0 AND part.key = @last_position AS failed,
      (@epoch_ms + n * @spacing_ms) / 1000.0 AS queued
    FROM seq CROSS JOIN json_each(@names) AS part)
  SELECT printf('bak_%09d%016x', n, n), position, name,
    CASE WHEN failed THEN 'FAILED' ELSE 'COMPLETED' END,
    CASE WHEN failed THEN @failure END,
    CASE WHEN failed THEN NULL ELSE 29884416 + position * 1048576 END,
    CASE WHEN failed THEN NULL ELSE lower(hex(randomblob(32))) END,
    strftime('%Y-%m-%dT%H:%M:%fZ', queued + 1, 'unixepoch'),
    strftime('%Y-%m-%dT%H:%M:%fZ', queued + 134, 'unixepoch'),
    '{}'
  FROM parts`;

function insertWithSql(db: Db, stores: Stores, shape: CatalogShape): void {
  checkShape(shape);
  const common = { count: shape.backups, epoch_ms: EPOCH_MS, spacing_ms: SPACING_MS };
  bulk(db, () => {
    db.prepare(INSERT_BACKUPS_SQL).run({
      ...common,
      tenant: shape.tenantId,
      deployment: shape.deploymentId,
      name: DEPLOYMENT_NAME,
      failure: FAILURE,
      metadata: METADATA,
      target1: shape.targetIds[0],
      target2: shape.targetIds[1],
    });
    db.prepare(INSERT_PARTS_SQL).run({
      ...common,
      names: JSON.stringify(PART_NAMES.slice(0, shape.partsPerBackup)),
      last_position: shape.partsPerBackup - 1,
      failure: FAILURE,
    });
    stores.deployments.advanceLastSequence(shape.deploymentId, shape.backups);
  });
}

// ---------------------------------------------------------------------------------------------
// The controller in a child process

/**
 * Forks this file: `startController(resolveConfig(...))` on `dataDir`, port 0 on 127.0.0.1, its
 * logs at `logLevel` on the child's stdout (discarded).
 */
export function forkController(dataDir: string, logLevel = "info"): Promise<ServerProcess> {
  return forkServer(__filename, ["--controller", dataDir, logLevel]);
}

export function dataFile(dataDir: string): string {
  return resolveConfig({ dataDir }, {}, dataDir).database;
}

/** Folds the WAL into the file and closes it, so the controller child starts on a clean database. */
export function closeSeeded(seeded: SeededCatalog): void {
  checkpoint(seeded.db);
  seeded.db.close();
}

if (require.main === module && process.argv[2] === "--controller") {
  const [dataDir, logLevel] = process.argv.slice(3);
  void serveOverIpc(async () => {
    const config = resolveConfig(
      { dataDir, port: "0", host: "127.0.0.1", logLevel, shutdownGraceMs: "1000" },
      {},
      dataDir,
    );
    const controller = await startController(config);
    return { url: controller.url, close: () => controller.close() };
  });
}
