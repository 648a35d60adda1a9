import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { completedBackup, follow, startAgentWorld, type AgentWorld } from "./agent-e2e";

/**
 * Backups and restores of a real PostgreSQL and MariaDB/MySQL, through the control API and the
 * agent as a child process. The servers come from STOWAGE_TEST_POSTGRES_URL
 * (postgres://user[:password]@host:port/db) and STOWAGE_TEST_MYSQL_URL (mysql://user@host:port),
 * which `.ci/run` sets; a test whose server is not given skips, except under CI=true.
 */
const exec = promisify(execFile);

interface Server {
  host: string;
  port: number;
  username: string;
  password?: string;
}

interface Engine {
  kind: "postgres" | "mysql";
  variable: string;
  /** Runs `sql` on `database` (the server's default when absent) and answers the rows as text. */
  query(server: Server, sql: string, database?: string): Promise<string>;
  /** The restore's `target`: the agent takes a database URL or a bare name; both are covered. */
  target(server: Server, database: string): string;
}

function psqlEnv(server: Server, database = "postgres") {
  return {
    ...process.env,
    PGHOST: server.host,
    PGPORT: String(server.port),
    PGUSER: server.username,
    PGPASSWORD: server.password,
    PGDATABASE: database,
  };
}

async function runWithInput(
  command: string,
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const running = exec(command, args, { env, maxBuffer: 64 * 1024 * 1024 });
  running.child.stdin!.end(input);
  return (await running).stdout;
}

const engines: Engine[] = [
  {
    kind: "postgres",
    variable: "STOWAGE_TEST_POSTGRES_URL",
    query: (server, sql, database) =>
      runWithInput(
        "psql",
        ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
        sql,
        psqlEnv(server, database),
      ),
    target: (server, database) => `postgres://${server.host}:${server.port}/${database}`,
  },
  {
    kind: "mysql",
    variable: "STOWAGE_TEST_MYSQL_URL",
    query: (server, sql, database) =>
      runWithInput(
        "mariadb",
        [
          "--no-defaults",
          `--host=${server.host}`,
          `--port=${server.port}`,
          `--user=${server.username}`,
          "--batch",
          "--skip-column-names",
          ...(database ? [`--database=${database}`] : []),
        ],
        sql,
        { ...process.env, MYSQL_PWD: server.password },
      ),
    target: (_server, database) => database,
  },
];

function serverOf(url: string): Server {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port),
    username: decodeURIComponent(parsed.username),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

/** A few thousand rows with quotes and non-ASCII text, which a dump must carry unchanged. */
function fillSql(): string {
  const rows = Array.from(
    { length: 3000 },
    (_, i) => `(${i + 1}, 'note ${i} it''s ü ✓ ${randomBytes(6).toString("hex")}', ${i * 7})`,
  );
  return [
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200) NOT NULL, qty INTEGER NOT NULL);",
    "CREATE INDEX notes_qty ON notes (qty);",
    `INSERT INTO notes (id, body, qty) VALUES ${rows.join(",\n")};`,
  ].join("\n");
}

const ROWS = "SELECT id, body, qty FROM notes ORDER BY id;";

let world: AgentWorld | undefined;
afterAll(async () => {
  await world?.stop();
});

/** One world for the file: the controller and agent start once, for whichever engines run. */
async function worldOnce(): Promise<AgentWorld> {
  if (!world) {
    world = await startAgentWorld();
    await world.startAgent();
  }
  return world;
}

describe("stowage-agent with database deployments", () => {
  for (const engine of engines) {
    const url = process.env[engine.variable];
    const title = `backs up a ${engine.kind} database, and restores it after it was dropped`;
    if (!url && process.env.CI !== "true") {
      console.log(`${engine.variable} is not set: skipping the ${engine.kind} end-to-end test`);
      it.skip(title, () => undefined);
      continue;
    }
    it(
      title,
      async () => {
        if (!url)
          throw new Error(`${engine.variable} must name a ${engine.kind} server under CI=true`);
        const server = serverOf(url);
        const database = `stowage_e2e_${randomBytes(4).toString("hex")}`;
        await engine.query(server, `CREATE DATABASE ${database};`);
        try {
          await engine.query(server, fillSql(), database);
          const before = await engine.query(server, ROWS, database);
          expect(before.trim().split("\n")).toHaveLength(3000);

          const w = await worldOnce();
          const operator = w.t.client();
          const deployment = await w.deploy({
            name: `${engine.kind}-db`,
            kind: engine.kind,
            connection: {
              host: server.host,
              port: server.port,
              username: server.username,
              ...(server.password ? { password: server.password } : {}),
              databases: [database],
            },
          });
          const backup = await completedBackup(w.t, deployment.id);
          expect(backup.state).toBe("COMPLETED");
          expect(backup.locations[0].url).toMatch(/\.sql\.gz$/);

          await engine.query(server, `DROP DATABASE ${database};`);
          const restoreFrames = await follow(
            operator.streamNdjson("post", "/v1/deployments/{deployment}/restores", {
              params: { path: { deployment: deployment.id } },
              body: { backup_id: backup.id, target: engine.target(server, database) },
            }),
          );
          expect(restoreFrames[restoreFrames.length - 1]).toMatchObject({
            op: "restore_completed",
          });
          expect(await engine.query(server, ROWS, database)).toBe(before);

          // The database now holds the restored rows: a second restore without force is refused.
          const again = await follow(
            operator.streamNdjson("post", "/v1/deployments/{deployment}/restores", {
              params: { path: { deployment: deployment.id } },
              body: { backup_id: backup.id, target: engine.target(server, database) },
            }),
          );
          expect(again[again.length - 1]).toMatchObject({ op: "job_failed" });
          expect(JSON.stringify(again)).toContain("is not empty");
        } finally {
          await engine.query(server, `DROP DATABASE IF EXISTS ${database};`);
        }
      },
      25_000,
    );
  }
});
