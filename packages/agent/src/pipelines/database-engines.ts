import type { DatabaseAddress, ToolHooks } from "./database-server";
import { dumpMysql, loadMysql, MYSQL_PORT, MYSQL_SCHEMES, prepareMysqlTarget } from "./mysql";
import {
  dumpPostgres,
  loadPostgres,
  POSTGRES_PORT,
  POSTGRES_SCHEMES,
  preparePostgresTarget,
} from "./postgres";
import type { ToolRun } from "./tool-process";

/** What backup and restore need from a database server kind, each done by its own CLI tools. */
export interface DatabaseEngine {
  defaultPort: number;
  /** URL schemes a restore destination may use. */
  schemes: string[];
  /** Starts the dump; its stdout is the backup's raw bytes. */
  dump(address: DatabaseAddress, hooks: ToolHooks): Promise<ToolRun>;
  /** Creates the destination database when missing, refuses a non-empty one unless forced. */
  prepareTarget(address: DatabaseAddress, force: boolean, hooks: ToolHooks): Promise<void>;
  /** Starts the client that reads a dump on its stdin. */
  load(address: DatabaseAddress, hooks: ToolHooks): Promise<ToolRun>;
}

export const databaseEngines: Record<"postgres" | "mysql", DatabaseEngine> = {
  postgres: {
    defaultPort: POSTGRES_PORT,
    schemes: POSTGRES_SCHEMES,
    dump: async (address, hooks) => dumpPostgres(address, hooks),
    prepareTarget: preparePostgresTarget,
    load: async (address, hooks) => loadPostgres(address, hooks),
  },
  mysql: {
    defaultPort: MYSQL_PORT,
    schemes: MYSQL_SCHEMES,
    dump: dumpMysql,
    prepareTarget: prepareMysqlTarget,
    load: loadMysql,
  },
};
