import type { DatabaseAddress, ToolHooks } from "./database-server";
import { findExecutable, runTool, runToolForOutput, type ToolRun } from "./tool-process";

export const MYSQL_PORT = 3306;
export const MYSQL_SCHEMES = ["mysql", "mariadb"];

/**
 * The client options every tool gets. `--no-defaults` (which must come first) keeps a `~/.my.cnf`
 * on the agent's host from overriding the deployment's server or user; the password goes through
 * MYSQL_PWD, never argv (visible to every user in `ps`).
 */
function clientArgs(address: DatabaseAddress): string[] {
  if (address.tls !== undefined && address.tls !== "preferred") {
    // mariadb and MySQL clients spell TLS modes differently; quietly connecting otherwise would
    // weaken what the operator asked for.
    throw new Error(`MySQL TLS mode ${address.tls} is not supported by this agent yet`);
  }
  return [
    "--no-defaults",
    `--host=${address.host}`,
    `--port=${address.port}`,
    ...(address.username ? [`--user=${address.username}`] : []),
  ];
}

function mysqlEnv(address: DatabaseAddress): Record<string, string | undefined> {
  return { MYSQL_PWD: address.password };
}

/**
 * One database's dump, with mariadb-dump where installed and mysqldump otherwise (as databacker's
 * mysql-backup does). `--single-transaction` reads InnoDB tables at one snapshot without locking
 * writers; routines and events are part of the database, so they are dumped too. Without
 * `--databases` the dump has no CREATE DATABASE or USE, so it restores into any database name.
 */
export async function dumpMysql(address: DatabaseAddress, hooks: ToolHooks): Promise<ToolRun> {
  const tool = await findExecutable(["mariadb-dump", "mysqldump"]);
  const options = ["--single-transaction", "--routines", "--events", "--triggers", "--hex-blob"];
  // `--` so that a database named like an option is dumped, not obeyed.
  return runTool(tool, [...clientArgs(address), ...options, "--", address.database], {
    ...hooks,
    env: mysqlEnv(address),
  });
}

/**
 * The client reading a dump on its stdin into the destination database. MySQL commits DDL as it
 * goes, so unlike PostgreSQL a restore that fails midway leaves what it had loaded; the checksum
 * was verified before, so that takes a server-side error, which the job then reports.
 */
export async function loadMysql(address: DatabaseAddress, hooks: ToolHooks): Promise<ToolRun> {
  return runTool(await client(), [...clientArgs(address), `--database=${address.database}`], {
    ...hooks,
    env: mysqlEnv(address),
  });
}

/** Creates the restore's database when missing; refuses one holding tables unless forced. */
export async function prepareMysqlTarget(
  address: DatabaseAddress,
  force: boolean,
  hooks: ToolHooks,
): Promise<void> {
  const tables = await queryMysql(
    address,
    `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ${sqlString(address.database)};`,
    hooks,
  );
  if (tables !== "0" && !force) {
    throw new Error(
      `restore destination database ${address.database} is not empty; restore with force to overwrite it`,
    );
  }
  await queryMysql(
    address,
    `CREATE DATABASE IF NOT EXISTS ${sqlIdentifier(address.database)};`,
    hooks,
  );
}

async function queryMysql(
  address: DatabaseAddress,
  sql: string,
  hooks: ToolHooks,
): Promise<string> {
  const args = [...clientArgs(address), "--batch", "--skip-column-names"];
  const output = await runToolForOutput(await client(), args, sql, {
    ...hooks,
    env: mysqlEnv(address),
  });
  return output.trim();
}

function client(): Promise<string> {
  return findExecutable(["mariadb", "mysql"]);
}

function sqlIdentifier(name: string): string {
  return "`" + name.replace(/`/g, "``") + "`";
}

/** A string literal that holds under any sql_mode (NO_BACKSLASH_ESCAPES or not) only without backslashes. */
function sqlString(value: string): string {
  if (value.includes("\\")) throw new Error(`database name ${value} contains a backslash`);
  return "'" + value.replace(/'/g, "''") + "'";
}
