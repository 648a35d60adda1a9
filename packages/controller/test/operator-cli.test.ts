import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent } from "undici";
import { parse } from "yaml";
import type { components } from "@stowage/control-client";
import { runOperatorCli } from "../src/operator-cli";
import { enrollTestAgent } from "./agent-fixture";
import { must } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";
import { makeServerCertificate, type ServerCertificate } from "./tls-fixture";

type Schemas = components["schemas"];

let t: TestController;
/** Secret files, a patch file and the child-process entry point. */
let dir: string;
beforeAll(async () => {
  t = await startTestController();
  dir = mkdtempSync(path.join(tmpdir(), "stowage-cli-"));
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function stowage(args: string[], token = t.adminToken) {
  let stdout = "";
  let stderr = "";
  const code = await runOperatorCli(
    ["--url", t.url, ...args],
    { STOWAGE_TOKEN: token },
    (text) => (stdout += text),
    (text) => (stderr += text),
  );
  return { code, stdout, stderr };
}

describe("the stowage operator CLI", () => {
  it("reports readiness as a table", async () => {
    const { code, stdout } = await stowage(["health"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^STATUS\s+CHECKS\nready\s+store:ok,signing_key:ok,scheduler:ok\n$/);
  });

  it("creates a token with -o json, shows the secret once, and lists it without", async () => {
    const created = await stowage([
      "-o",
      "json",
      "tokens",
      "create",
      "ci-reader",
      "--verbs",
      "backup:read,audit:read",
    ]);
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; secret: string; verbs: string[] };
    expect(token.verbs).toEqual(["audit:read", "backup:read"]);
    const listed = await stowage(["tokens", "list"]);
    expect(listed.stdout).toContain("ci-reader");
    expect(listed.stdout).not.toContain(token.secret);
    const ndjson = await stowage(["-o", "ndjson", "tokens", "list"]);
    const lines = ndjson.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { name: string });
    expect(lines.map((line) => line.name)).toContain("ci-reader");

    const audit = await stowage(["audit", "verify"], token.secret);
    expect(audit).toMatchObject({ code: 0 });
    expect(audit.stdout).toMatch(/true/);
  });

  it.each([
    ["a bad token", ["tokens", "list"], "stw_not-a-real-token", 3, /auth\.invalid_token/],
    ["a missing verb", ["tenants", "list"], "reader", 3, /authz\.denied/],
    [
      "an unknown resource",
      ["tokens", "revoke", "tok_missing"],
      undefined,
      6,
      /resource\.not_found/,
    ],
    ["a conflict", ["tenants", "create", "default"], undefined, 7, /resource\.conflict/],
    ["bad usage", ["tokens", "create"], undefined, 2, /required option/],
  ])("exits by the status table for %s", async (_name, args, token, code, message) => {
    let secret = token;
    if (token === "reader") {
      const created = await stowage([
        "-o",
        "json",
        "tokens",
        "create",
        "limited",
        "--verbs",
        "backup:read",
      ]);
      secret = (JSON.parse(created.stdout) as { secret: string }).secret;
    }
    const result = await stowage(args, secret);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it("lists jobs filtered by state, as the job-limit suggestion says", async () => {
    const queued = await stowage(["-o", "json", "jobs", "list", "--state", "QUEUED"]);
    expect(queued.code).toBe(0);
    expect(JSON.parse(queued.stdout)).toMatchObject({ items: [] });
    const bad = await stowage(["jobs", "list", "--state", "NOPE"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/request\.invalid/);
  });

  it("exits 8 when the controller cannot be reached", async () => {
    let stderr = "";
    const code = await runOperatorCli(
      ["--url", "http://127.0.0.1:9", "health"],
      { STOWAGE_TOKEN: "x" },
      () => undefined,
      (text) => (stderr += text),
    );
    expect(code).toBe(8);
    expect(stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});

type Run = { code: number; stdout: string; stderr: string };

/** A run's standard output as JSON, once it is known to have succeeded. */
function json<T>(run: Run): T {
  expect(run).toMatchObject({ code: 0, stderr: "" });
  return JSON.parse(run.stdout) as T;
}

/** A table's data rows, cut into cells (cells are separated by at least two spaces). */
function rows(run: Run): string[][] {
  return run.stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split(/ {2,}/));
}

/** A secret in a file, as an operator would keep it (with the newline an editor adds). */
function secretFile(name: string, secret: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return file;
}

describe("stowage enrollments", () => {
  it("creates one showing its token once, then lists, gets and deletes it without", async () => {
    const created = await stowage([
      "enrollments",
      "create",
      "--agent-name",
      "orders-db-1",
      "--ttl-seconds",
      "600",
      "--description",
      "orders host",
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /^ID\s+AGENT_NAME\s+STATE\s+EXPIRES\s+AGENT\s+DESCRIPTION\s+TOKEN\s+ENROLL_URL\n/,
    );
    const [[id, agentName, state, , agent, description, token, enrollUrl]] = rows(created);
    expect({ agentName, state, agent, description, enrollUrl }).toEqual({
      agentName: "orders-db-1",
      state: "pending",
      agent: "-",
      description: "orders host",
      enrollUrl: `${t.url}/engines/enroll`,
    });
    expect(token.length).toBeGreaterThan(20);
    expect(created.stderr).toMatch(/shown once/);
    const second = json<Schemas["EnrollmentWithToken"]>(
      await stowage(["-o", "json", "enrollments", "create"]),
    );
    expect(second).toMatchObject({ state: "pending", token: expect.any(String) });

    const listed = await stowage(["enrollments", "list"]);
    expect(listed.stdout).toMatch(/^ID\s+AGENT_NAME\s+STATE\s+EXPIRES\s+AGENT\s+DESCRIPTION\n/);
    expect(rows(listed).map((row) => row[0])).toEqual(expect.arrayContaining([id, second.id]));
    const page = json<Schemas["EnrollmentPage"]>(
      await stowage(["-o", "json", "enrollments", "list"]),
    );
    expect(page.items.map((item) => item.id)).toEqual(expect.arrayContaining([id, second.id]));
    const shown = json<Schemas["Enrollment"]>(
      await stowage(["-o", "json", "enrollments", "get", id]),
    );
    expect(shown).toMatchObject({ id, agent_name: "orders-db-1", description: "orders host" });
    // The token is in the create answer only.
    for (const later of [listed.stdout, JSON.stringify(page), JSON.stringify(shown)]) {
      expect(later).not.toContain(token);
      expect(later).not.toContain(second.token);
    }

    expect(await stowage(["enrollments", "delete", id])).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    const gone = await stowage(["enrollments", "get", id]);
    expect(gone.code).toBe(6);
    expect(gone.stderr).toMatch(/resource\.not_found/);
  });

  it.each([
    ["a TTL that is not a number", ["--ttl-seconds", "1h"], /expected a whole number/],
    ["a TTL out of range", ["--ttl-seconds", "5"], /request\.invalid/],
    ["an agent name the spec refuses", ["--agent-name", "Not A Name"], /request\.invalid/],
  ])("exits 2 for %s", async (_name, args, message) => {
    const refused = await stowage(["enrollments", "create", ...args]);
    expect(refused).toMatchObject({ code: 2, stdout: "" });
    expect(refused.stderr).toMatch(message);
  });
});

describe("stowage agents", () => {
  it("lists, gets and revokes an enrolled agent, which then gets no identity", async () => {
    const agent = await enrollTestAgent(t, t.client(), { agentName: "cli-agent" });
    const listed = await stowage(["agents", "list"]);
    expect(listed.stdout).toMatch(
      /^ID\s+NAME\s+HOSTNAME\s+STATE\s+AUTH\s+VERSION\s+LAST_SEEN\s+JOBS\n/,
    );
    expect(rows(listed)).toContainEqual([
      agent.instance,
      "cli-agent",
      "db-host.internal",
      "active",
      "none",
      "stowage-test-agent/0.1.0",
      "-",
      "0",
    ]);
    const page = json<Schemas["AgentPage"]>(await stowage(["-o", "json", "agents", "list"]));
    expect(page.items.find((item) => item.id === agent.instance)).toMatchObject({
      name: "cli-agent",
      state: "active",
    });
    const shown = json<Schemas["Agent"]>(
      await stowage(["-o", "json", "agents", "get", agent.instance]),
    );
    expect(shown).toMatchObject({ id: agent.instance, in_flight_jobs: 0, revoked_at: null });

    // An identity pins the controller's certificate: this one serves plain HTTP (412, exit 4).
    const unpinned = await stowage(["agents", "issue-identity", agent.instance]);
    expect(unpinned).toMatchObject({ code: 4, stdout: "" });
    expect(unpinned.stderr).toMatch(/precondition\.failed[\s\S]*try: stowage-controller serve/);

    const revoked = await stowage(["-o", "ndjson", "agents", "revoke", agent.instance]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({
      id: agent.instance,
      state: "revoked",
      revoked_at: expect.any(String),
    });
    const conflict = await stowage(["agents", "issue-identity", agent.instance]);
    expect(conflict).toMatchObject({ code: 7, stdout: "" });
    expect(conflict.stderr).toMatch(/resource\.conflict.*revoked/);
    const missing = await stowage(["agents", "revoke", "agt_missing"]);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toMatch(/resource\.not_found/);
  });
});

describe("stowage targets", () => {
  const SECRET = "wJalrXUtnFEMI/K7MDENG/cli-secret-access-key";

  it("creates an S3 target with its secret read from a file, and never shows the secret", async () => {
    const runs: Run[] = [];
    const run = async (args: string[]) => {
      const result = await stowage(args);
      runs.push(result);
      return result;
    };
    const created = await run([
      "targets",
      "create",
      "s3://acme-backups/stowage",
      "--type",
      "s3",
      "--name",
      "offsite",
      "--region",
      "eu-west-1",
      "--access-key-id",
      "AKIAIOSFODNN7EXAMPLE",
      "--secret-access-key-file",
      secretFile("s3-secret", SECRET),
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^ID\s+NAME\s+TYPE\s+URL\s+SECRET_SET\n/);
    const [[id, ...cells]] = rows(created);
    expect(cells).toEqual(["offsite", "s3", "s3://acme-backups/stowage", "true"]);
    const local = json<Schemas["Target"]>(
      await run([
        "-o",
        "json",
        "targets",
        "create",
        "file:///var/backups/stowage",
        "--type",
        "file",
        "--name",
        "local-disk",
      ]),
    );
    expect(local).toMatchObject({ type: "file", name: "local-disk" });

    const listed = await run(["targets", "list"]);
    expect(rows(listed)).toEqual(
      expect.arrayContaining([
        [id, "offsite", "s3", "s3://acme-backups/stowage", "true"],
        [local.id, "local-disk", "file", "file:///var/backups/stowage", "-"],
      ]),
    );
    const page = json<Schemas["TargetPage"]>(await run(["-o", "json", "targets", "list"]));
    expect(page.items.find((item) => item.id === id)).toMatchObject({
      access_key_id: "AKIAIOSFODNN7EXAMPLE",
      secret_access_key_set: true,
    });
    const shown = await run(["-o", "ndjson", "targets", "get", id]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, region: "eu-west-1" });

    const duplicate = await run([
      "targets",
      "create",
      "s3://other",
      "--type",
      "s3",
      "--name",
      "offsite",
    ]);
    expect(duplicate.code).toBe(7);
    expect(duplicate.stderr).toMatch(/resource\.conflict/);
    expect(await run(["targets", "delete", local.id])).toMatchObject({ code: 0, stdout: "" });
    const gone = await run(["targets", "get", local.id]);
    expect(gone.code).toBe(6);

    for (const output of runs) expect(output.stdout + output.stderr).not.toContain(SECRET);
    expect(t.logs.join("\n")).not.toContain(SECRET);
  });

  it.each([
    [
      "a flag of another type",
      ["file:///x", "--type", "file", "--name", "x", "--access-key-id", "AKIA"],
      /--access-key-id does not apply to file targets/,
    ],
    [
      "a secret file that cannot be read",
      ["smb://host/share", "--type", "smb", "--name", "share", "--password-file", "/nonexistent"],
      /cannot read \/nonexistent: ENOENT/,
    ],
    ["an unknown type", ["ftp://x", "--type", "ftp", "--name", "x"], /Allowed choices/],
    [
      "a Swift target without its auth URL",
      ["swift://c", "--type", "swift", "--name", "dr"],
      /request\.invalid/,
    ],
  ])("exits 2 for %s", async (_name, args, message) => {
    const refused = await stowage(["targets", "create", ...args]);
    expect(refused).toMatchObject({ code: 2, stdout: "" });
    expect(refused.stderr).toMatch(message);
  });
});

describe("stowage deployments update", () => {
  const PASSWORD = "orders-db-password-cli-9d2";
  let disk: string;
  let offsite: string;

  beforeAll(async () => {
    const agent = await enrollTestAgent(t, t.client(), { agentName: "orders-agent" });
    [disk, offsite] = await Promise.all(
      ["orders-disk", "orders-offsite"].map(async (name) => {
        const target = must(
          await t.client().POST("/v1/targets", {
            body: { type: "file", name, url: `file:///var/backups/${name}` },
          }),
        );
        return target.id;
      }),
    );
    for (const name of ["orders-db", "billing-db"]) {
      must(
        await t.client().POST("/v1/deployments", {
          body: {
            name,
            kind: "mysql",
            connection: { host: "db.internal", username: "backup" },
            driver: { type: "pull", agent_id: agent.instance },
            schedules: [{ cron: "0 3 * * *" }],
            target_ids: [disk],
            retention: { keep_last: 24, keep_daily: 7 },
          },
        }),
      );
    }
  });

  const update = (...args: string[]) => stowage(["deployments", "update", "orders-db", ...args]);
  const updated = async (...args: string[]) =>
    json<Schemas["Deployment"]>(
      await stowage(["-o", "json", "deployments", "update", "orders-db", ...args]),
    );

  it("pauses and resumes", async () => {
    const paused = await update("--pause");
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^ID\s+NAME\s+KIND\s+DRIVER\s+PAUSED\s+NEXT_RUN\n/);
    expect(rows(paused)[0].slice(1, 5)).toEqual(["orders-db", "mysql", "pull", "true"]);
    expect(await updated("--resume")).toMatchObject({ paused: false });
  });

  it("replaces schedules and targets, and changes one retention rule keeping the others", async () => {
    const deployment = await updated(
      "--schedule",
      "15 1 * * *",
      "--incremental-schedule",
      "0 * * * *",
      "--time-zone",
      "Europe/Berlin",
      "--target",
      disk,
      "--target",
      offsite,
      "--keep-last",
      "10",
      "--compression",
      "none",
    );
    expect(deployment).toMatchObject({
      schedules: [
        { cron: "15 1 * * *", time_zone: "Europe/Berlin", level: "full" },
        { cron: "0 * * * *", time_zone: "Europe/Berlin", level: "incremental" },
      ],
      target_ids: [disk, offsite],
      retention: { keep_last: 10, keep_daily: 7 },
      compression: "none",
    });
    expect(await updated("--clear-schedules")).toMatchObject({ schedules: [], next_run_at: null });

    // A target a deployment uses cannot go.
    const inUse = await stowage(["targets", "delete", offsite]);
    expect(inUse.code).toBe(7);
    expect(inUse.stderr).toMatch(/resource\.conflict/);
  });

  it("turns encryption on and off, and applies a patch file with the flags winning", async () => {
    expect(await updated("--encryption-key-ref", "env:ORDERS_KEY")).toMatchObject({
      encryption: { algorithm: "aes-256-gcm", key_ref: "env:ORDERS_KEY" },
    });
    expect(await updated("--no-encryption")).toMatchObject({ encryption: null });
    const patch = path.join(dir, "patch.yaml");
    writeFileSync(patch, "description: Orders, nightly\npaused: true\n");
    expect(await updated("-f", patch, "--resume")).toMatchObject({
      description: "Orders, nightly",
      paused: false,
    });
  });

  it("rotates the database password from a file and never shows it", async () => {
    const rotated = await update("--password-file", secretFile("db-password", PASSWORD));
    expect(rotated.code).toBe(0);
    const shown = json<Schemas["Deployment"]>(
      await stowage(["-o", "json", "deployments", "get", "orders-db"]),
    );
    expect(shown.connection).toMatchObject({ host: "db.internal", password_set: true });
    for (const output of [rotated.stdout, rotated.stderr, JSON.stringify(shown), ...t.logs])
      expect(output).not.toContain(PASSWORD);
  });

  it.each([
    ["a name another deployment has", ["--name", "billing-db"], 7, /resource\.conflict/],
    ["nothing to change", [], 2, /nothing to update/],
    ["--pause with --resume", ["--pause", "--resume"], 2, /contradict/],
    ["a time zone without a schedule", ["--time-zone", "UTC"], 2, /--time-zone applies/],
    ["a retention count that is not a number", ["--keep-last", "ten"], 2, /whole number/],
    ["an unknown target", ["--target", "tgt_missing"], 2, /request\.invalid/],
  ])("exits by the status table for %s", async (_name, args, code, message) => {
    const refused = await update(...args);
    expect(refused).toMatchObject({ code, stdout: "" });
    expect(refused.stderr).toMatch(message);
  });

  it("exits 6 for a deployment that does not exist", async () => {
    const missing = await stowage(["deployments", "update", "no-such-db", "--pause"]);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toMatch(/resource\.not_found/);
    // The retention flags read the stored policy first: the same 404.
    const retention = await stowage(["deployments", "update", "no-such-db", "--keep-daily", "3"]);
    expect(retention.code).toBe(6);
  });
});

/**
 * The CLI as its own process against an HTTPS controller: what an operator runs to hand
 * mysql-backup its bootstrap document (`> mysql-backup.yaml`), trusting the controller's
 * self-signed certificate through Node's NODE_EXTRA_CA_CERTS, and piping a secret on stdin.
 */
describe("stowage over HTTPS, as a process", () => {
  let https: TestController;
  let server: ServerCertificate;
  let dispatcher: Agent;
  let entry: string;

  beforeAll(async () => {
    server = makeServerCertificate(dir);
    dispatcher = new Agent({ connect: { ca: server.certPem } });
    https = await startTestController(
      { tlsCert: server.certFile, tlsKey: server.keyFile },
      { dispatcher },
    );
    entry = path.join(dir, "stowage.js");
    const cli = path.join(__dirname, "..", "src", "operator-cli");
    writeFileSync(entry, `require(${JSON.stringify(cli)}).main();\n`);
  });
  afterAll(async () => {
    await https.stop();
    await dispatcher.close();
  });

  function stowageProcess(args: string[], input = ""): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          "-r",
          require.resolve("ts-node/register/transpile-only"),
          entry,
          "--url",
          https.url,
          ...args,
        ],
        {
          env: {
            ...process.env,
            TS_NODE_PROJECT: path.join(__dirname, "..", "..", "..", "tsconfig.json"),
            STOWAGE_TOKEN: https.adminToken,
            NODE_EXTRA_CA_CERTS: server.certFile,
          },
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input);
    });
  }

  it("issues an identity, printing mysql-backup's bootstrap document as YAML once", async () => {
    const agent = await enrollTestAgent(https, https.client(), { agentName: "orders-mysql" });
    const issued = await stowageProcess(["agents", "issue-identity", agent.instance]);
    expect(issued).toMatchObject({ code: 0 });
    const document = parse(issued.stdout) as Schemas["RemoteBootstrapConfig"];
    expect(document).toEqual({
      version: "config.databack.io/v1",
      kind: "remote",
      metadata: { name: "bootstrap-orders-mysql" },
      spec: {
        url: `${https.url}/engines/config/${agent.instance}`,
        credentials: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
        certificates: [expect.stringMatching(/^sha256:[0-9a-f]{64}$/)],
      },
    });
    expect(issued.stderr).toMatch(/shown once/);
    expect(issued.stderr).not.toContain(document.spec.credentials);

    const again = await stowageProcess(["agents", "issue-identity", agent.instance]);
    expect(again).toMatchObject({ code: 7, stdout: "" });
    expect(again.stderr).toMatch(/resource\.conflict[\s\S]*replace/);

    const proxied = `https://backups.example/engines/config/${agent.instance}`;
    const replaced = json<Schemas["AgentIdentity"]>(
      await stowageProcess([
        "-o",
        "json",
        "agents",
        "issue-identity",
        agent.instance,
        "--replace",
        "--config-url",
        proxied,
      ]),
    );
    expect(replaced).toMatchObject({
      agent_id: agent.instance,
      replaced: true,
      bootstrap: { kind: "remote", spec: { url: proxied } },
    });
    expect(replaced.bootstrap.spec.credentials).not.toBe(document.spec.credentials);

    // Shown once: not in the agent's record, nor in anything the controller logged.
    const shown = await stowageProcess(["-o", "json", "agents", "get", agent.instance]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ identity_issued_at: replaced.issued_at });
    for (const seed of [document.spec.credentials, replaced.bootstrap.spec.credentials]) {
      expect(shown.stdout).not.toContain(seed);
      expect(https.logs.join("\n")).not.toContain(seed);
    }
  });

  it("reads an SMB password from standard input and never shows it", async () => {
    const password = "smb-password-from-stdin-4e1";
    const created = await stowageProcess(
      [
        "-o",
        "json",
        "targets",
        "create",
        "smb://fileserver/backups/stowage",
        "--type",
        "smb",
        "--name",
        "fileserver",
        "--username",
        "backup",
        "--password-file",
        "-",
      ],
      `${password}\n`,
    );
    expect(json<Schemas["Target"]>(created)).toMatchObject({
      type: "smb",
      username: "backup",
      password_set: true,
    });
    expect(created.stdout + created.stderr).not.toContain(password);
    expect(https.logs.join("\n")).not.toContain(password);
  });
});
