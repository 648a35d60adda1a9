import { CATALOG_AND_JOBS_SQL } from "./migration-4-catalog";
import { SCHEDULER_SQL } from "./migration-6-scheduler";
import { RETENTION_AND_AGENT_JOBS_SQL } from "./migration-7-retention";
import { READ_CACHES_SQL } from "./migration-8-read-caches";
import { AGENT_TELEMETRY_SQL } from "./migration-11-agent-telemetry";
import { DELETE_JOBS_SQL } from "./migration-12-delete-jobs";
import { ZEEBE_DELETES_SQL } from "./migration-14-zeebe-deletes";

export interface Migration {
  version: number;
  sql: string;
  /**
   * Runs with foreign keys off, checked before the commit: a table rebuild drops a parent
   * table, which with them on would cascade into its children.
   */
  foreignKeysOff?: true;
}

/**
 * Versioned schema changes, applied in order at start and never edited once released: a change
 * is a new entry. Times are RFC 3339 UTC text, which sorts as time does.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        verbs TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT,
        revoked_at TEXT
      );
      CREATE INDEX tokens_by_tenant ON tokens (tenant_id, id);
      CREATE TABLE audit_entries (
        sequence INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        request_id TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_by_tenant ON audit_entries (tenant_id, sequence);
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE targets (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        description TEXT,
        -- JSON: the type's settings without secrets.
        settings TEXT NOT NULL,
        -- JSON: the write-only secrets; never read back into an answer.
        secrets TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant_id, name)
      );
      CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        kind TEXT NOT NULL,
        -- JSON: connection settings without secrets; the secrets column holds the write-only ones.
        connection TEXT NOT NULL,
        secrets TEXT NOT NULL,
        -- JSON: { type: pull | script-agent | zeebe, ... } without secrets.
        driver TEXT NOT NULL,
        -- Denormalised from driver for the agent API: the pull agent that runs this deployment.
        agent_id TEXT,
        schedules TEXT NOT NULL,
        target_ids TEXT NOT NULL,
        retention TEXT NOT NULL,
        compression TEXT NOT NULL,
        encryption TEXT,
        scripts TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        -- The highest backup sequence ever used: sequences are never reused, even after a delete.
        last_sequence INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant_id, name)
      );
      CREATE INDEX deployments_by_agent ON deployments (agent_id);
    `,
  },
  {
    version: 3,
    sql: `
      -- One-time enrollment tokens. Only the SHA-256 of the secret is kept: a stolen database
      -- holds nothing an agent could enroll with. agent_id and agents.enrollment_id are history
      -- links without foreign keys: deleting a used enrollment keeps its agent (the spec says so).
      CREATE TABLE enrollments (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        description TEXT,
        agent_name TEXT,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        agent_id TEXT
      );
      CREATE INDEX enrollments_by_tenant ON enrollments (tenant_id, id);
      CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        hostname TEXT,
        version TEXT,
        -- How it last authenticated; NULL until its first authenticated request.
        auth_method TEXT CHECK (auth_method IN ('jwt', 'mtls')),
        -- The enrolled key as a PEM SubjectPublicKeyInfo, and sha256:<hex> of its DER.
        public_key TEXT NOT NULL,
        public_key_fingerprint TEXT NOT NULL UNIQUE,
        -- An issued mysql-backup identity: the Ed25519 public key derived from the seed (PEM
        -- SubjectPublicKeyInfo) and its fingerprint. The seed itself is never stored.
        identity_public_key TEXT,
        identity_fingerprint TEXT UNIQUE,
        identity_issued_at TEXT,
        enrollment_id TEXT,
        enrolled_at TEXT NOT NULL,
        last_seen_at TEXT,
        revoked_at TEXT
      );
      CREATE INDEX agents_by_tenant_name ON agents (tenant_id, name, id);
    `,
  },
  { version: 4, sql: CATALOG_AND_JOBS_SQL },
  {
    version: 5,
    sql: `
      CREATE TABLE idempotency_records (
        principal TEXT NOT NULL,
        key_hash TEXT NOT NULL,
        operation TEXT NOT NULL,
        request_mac TEXT NOT NULL,
        status INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (principal, key_hash)
      );
      CREATE INDEX idempotency_by_age ON idempotency_records (created_at);
    `,
  },
  { version: 6, sql: SCHEDULER_SQL },
  { version: 7, sql: RETENTION_AND_AGENT_JOBS_SQL },
  { version: 8, sql: READ_CACHES_SQL },
  {
    version: 9,
    sql: `
      -- Client-assertion ids already spent at the token endpoint, kept until the assertion
      -- expires: a replayed assertion is refused even after a restart.
      CREATE TABLE assertion_jtis (
        agent_id TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, jti)
      );
      CREATE INDEX assertion_jtis_by_expiry ON assertion_jtis (expires_at);
    `,
  },
  {
    version: 10,
    sql: `
      -- Issued identities' seeds, sealed with a key kept outside the database: mysql-backup
      -- needs its seed back as the telemetry credentials of the config it fetches.
      CREATE TABLE agent_identity_seeds (
        agent_id TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
        sealed BLOB NOT NULL
      );
    `,
  },
  { version: 11, sql: AGENT_TELEMETRY_SQL },
  { version: 12, sql: DELETE_JOBS_SQL, foreignKeysOff: true },
  {
    version: 13,
    sql: `
      -- The backup listing's page cache is keyed by the deployment as the caller names it (id or
      -- name), so a deployment created, deleted or renamed moves the catalog's generation too.
      CREATE TRIGGER deployments_changed_insert AFTER INSERT ON deployments
      BEGIN
        UPDATE backup_changes SET generation = generation + 1;
      END;
      CREATE TRIGGER deployments_changed_delete AFTER DELETE ON deployments
      BEGIN
        UPDATE backup_changes SET generation = generation + 1;
      END;
      CREATE TRIGGER deployments_changed_rename AFTER UPDATE OF id, name, tenant_id ON deployments
      BEGIN
        UPDATE backup_changes SET generation = generation + 1;
      END;
    `,
  },
  { version: 14, sql: ZEEBE_DELETES_SQL },
];
