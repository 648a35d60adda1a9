import type { DatabaseAddress, ToolHooks } from "./database-server";
import { runTool, runToolForOutput, type ToolRun } from "./tool-process";

export const POSTGRES_PORT = 5432;
export const POSTGRES_SCHEMES = ["postgres", "postgresql"];
/** The database a restore connects to first, to look for and create its target. */
const MAINTENANCE_DATABASE = "postgres";

/**
 * libpq reads the whole address from the environment: the password stays out of argv (visible to
 * every user in `ps`), and a database name is never parsed as a connection string, as a
 * `--dbname` argument containing `=` would be. An unset value removes one the agent inherited.
 */
function postgresEnv(address: DatabaseAddress): Record<string, string | undefined> {
  return {
    PGHOST: address.host,
    PGPORT: String(address.port),
    PGUSER: address.username,
    PGPASSWORD: address.password,
    PGDATABASE: address.database,
    PGSSLMODE: address.tls,
    PGAPPNAME: "stowage-agent",
    // --clean's DROP ... IF EXISTS on a fresh database would otherwise log a NOTICE per object.
    PGOPTIONS: "-c client_min_messages=warning",
  };
}

/**
 * pg_dump's plain SQL of one database. `--clean --if-exists` makes the script drop each object
 * before creating it, so a forced restore over an existing database replaces what it holds.
 */
export function dumpPostgres(address: DatabaseAddress, hooks: ToolHooks): ToolRun {
  return runTool("pg_dump", ["--format=plain", "--clean", "--if-exists", "--no-password"], {
    ...hooks,
    env: postgresEnv(address),
  });
}

/**
 * psql reading a dump on its stdin, all in one transaction that stops at the first error: a
 * restore that fails (or is killed) leaves the database as it was.
 */
export function loadPostgres(address: DatabaseAddress, hooks: ToolHooks): ToolRun {
  return runTool(
    "psql",
    ["--no-psqlrc", "--quiet", "--no-password", "--single-transaction", "-v", "ON_ERROR_STOP=1"],
    { ...hooks, env: postgresEnv(address) },
  );
}

/**
 * Makes the restore's database ready: creates it when missing, and refuses one that already
 * holds tables, views or sequences unless the restore is forced.
 */
export async function preparePostgresTarget(
  address: DatabaseAddress,
  force: boolean,
  hooks: ToolHooks,
): Promise<void> {
  const server = { ...address, database: MAINTENANCE_DATABASE };
  const exists = await queryPostgres(
    server,
    "SELECT count(*) FROM pg_database WHERE datname = :'target';",
    address.database,
    hooks,
  );
  if (exists === "0") {
    await queryPostgres(server, 'CREATE DATABASE :"target";', address.database, hooks);
    return;
  }
  const relations = await queryPostgres(
    address,
    `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%';`,
    address.database,
    hooks,
  );
  if (relations !== "0" && !force) {
    throw new Error(
      `restore destination database ${address.database} is not empty; restore with force to overwrite it`,
    );
  }
}

/** One statement through psql; the target's name goes in as a variable, which psql quotes. */
async function queryPostgres(
  address: DatabaseAddress,
  sql: string,
  target: string,
  hooks: ToolHooks,
): Promise<string> {
  const args = ["--no-psqlrc", "--no-align", "--tuples-only", "--no-password"];
  const output = await runToolForOutput(
    "psql",
    [...args, "-v", "ON_ERROR_STOP=1", "-v", `target=${target}`],
    sql,
    { ...hooks, env: postgresEnv(address) },
  );
  return output.trim();
}
