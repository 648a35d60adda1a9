import type { components } from "@stowage/agent-client";
import type { ToolOptions } from "./tool-process";

type Schemas = components["schemas"];
/** The part of a postgres or mysql deployment that says where its server is. */
export type DatabaseDeployment =
  | Pick<Schemas["DeploymentPostgres"], "kind" | "connection">
  | Pick<Schemas["DeploymentMysql"], "kind" | "connection">;

/** One database on a server, with the deployment's credentials. */
export interface DatabaseAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** libpq's sslmode or the MySQL client's TLS mode, as the deployment asks. */
  tls?: string;
  database: string;
}

/** What a dump or a restore needs besides the address: cancellation and the job's log. */
export type ToolHooks = Pick<ToolOptions, "signal" | "onStderr">;

/**
 * The one database a backup dumps. A backup is one database's dump, so that it restores into any
 * database name (the job's destination); a selection of several, or of "all but", is refused
 * rather than quietly narrowed to one.
 */
export function dumpedDatabase(
  deployment: DatabaseDeployment,
  defaultPort: number,
): DatabaseAddress {
  const { databases } = deployment.connection;
  const include = databases?.include ?? [];
  if (include.length !== 1 || databases?.exclude?.length) {
    throw new Error(
      "this agent backs up exactly one database per deployment: list it alone in databases.include",
    );
  }
  return { ...serverOf(deployment, defaultPort), database: include[0] };
}

/**
 * Where a restore goes. The agent API sends a database URL (`postgres://host:port/db`,
 * `mysql://host:port/db`, no credentials); the control API's `target` may also be a bare database
 * name, which means that database on the deployment's own server. Credentials always come from the
 * deployment's connection.
 */
export function restoreDatabase(
  destination: string,
  deployment: DatabaseDeployment,
  defaultPort: number,
  schemes: string[],
): DatabaseAddress {
  const server = serverOf(deployment, defaultPort);
  if (!destination.includes("://")) {
    if (!destination) throw new Error("the restore names no database to restore into");
    return { ...server, database: destination };
  }
  const url = new URL(destination);
  if (!schemes.includes(url.protocol.replace(/:$/, ""))) {
    throw new Error(`restore destination ${destination} is not a ${schemes.join(" or ")} URL`);
  }
  if (url.username || url.password) {
    throw new Error("a restore destination carries no credentials; the deployment supplies them");
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!database) throw new Error(`restore destination ${destination} names no database`);
  return {
    ...server,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : defaultPort,
    database,
  };
}

function serverOf(
  deployment: DatabaseDeployment,
  defaultPort: number,
): Omit<DatabaseAddress, "database"> {
  const { connection } = deployment;
  return {
    host: connection.host,
    port: connection.port ?? defaultPort,
    username: connection.username,
    password: connection.password,
    tls: deployment.kind === "postgres" ? deployment.connection.sslmode : deployment.connection.tls,
  };
}
