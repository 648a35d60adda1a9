/**
 * Targets and deployments over HTTP: CRUD, write-only secrets, idempotent create, the rules the
 * schema cannot express, tenant isolation, keyset pagination and verbs. Agents are enrolled
 * through the service function the agent API calls, on a second connection to the same file.
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import path from "node:path";
import { Cron } from "croner";
import type { components } from "@stowage/control-client";
import { enrollAgent } from "../src/services/agent-enrollment";
import { createStores, type Stores } from "../src/services/control-context";
import { openDatabase, type Db } from "../src/store/database";
import { startTestController, type TestController } from "./test-controller";

type TargetCreate = components["schemas"]["TargetCreate"];
type DeploymentCreate = components["schemas"]["DeploymentCreate"];
type DeploymentUpdate = components["schemas"]["DeploymentUpdate"];

let t: TestController;
let stores: Stores;
let db: Db;
/** Every answer body the tests received, and every secret they sent, for the secret scan. */
const answers: unknown[] = [];
const issuedSecrets: string[] = [];

beforeAll(async () => {
  t = await startTestController();
  db = openDatabase(path.join(t.dataDir, "stowage.db"));
  stores = createStores(db);
});
afterAll(async () => {
  db.close();
  await t.stop();
});

/** Keeps the body for the secret scan and hands the result back. */
function kept<R extends { data?: unknown; error?: unknown }>(result: R): R {
  answers.push(result.data ?? result.error ?? null);
  return result;
}

function secret(label: string): string {
  const value = `${label}-${randomUUID()}`;
  issuedSecrets.push(value);
  return value;
}

async function token(verbs: string[], tenantId?: string): Promise<string> {
  const { data, error } = await t.client().POST("/v1/tokens", {
    body: {
      name: `token-${randomUUID().slice(0, 8)}`,
      verbs: verbs as never,
      ...(tenantId ? { tenant_id: tenantId } : {}),
    },
  });
  if (!data) throw new Error(JSON.stringify(error));
  return data.result.secret;
}

/** A fresh tenant with an admin:* token in it: a clean slate for exact list assertions. */
async function tenantToken(): Promise<{ tenantId: string; secret: string }> {
  const { data, error } = await t
    .client()
    .POST("/v1/tenants", { body: { name: `tenant-${randomUUID().slice(0, 8)}` } });
  if (!data) throw new Error(JSON.stringify(error));
  return { tenantId: data.result.id, secret: await token(["admin:*"], data.result.id) };
}

async function createTarget(body: TargetCreate, secret = t.adminToken) {
  const result = kept(await t.client(secret).POST("/v1/targets", { body }));
  if (!result.data) throw new Error(JSON.stringify(result.error));
  return result.data.result;
}

async function fileTarget(name = `disk-${randomUUID().slice(0, 8)}`, secret = t.adminToken) {
  return createTarget({ type: "file", name, url: "file:///var/backups/stowage" }, secret);
}

/** What a script-agent deployment needs: the script agent uploads to S3 or Swift only. */
async function s3Target(name = `s3-${randomUUID().slice(0, 8)}`) {
  return createTarget({
    type: "s3",
    name,
    url: "s3://acme-backups/stowage",
    access_key_id: "AKIAIOSFODNN7EXAMPLE",
    secret_access_key: secret("s3-key"),
  });
}

async function enrolledAgent(secret = t.adminToken) {
  const { data, error } = await t.client(secret).POST("/v1/enrollments", { body: {} });
  if (!data) throw new Error(JSON.stringify(error));
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return enrollAgent(stores, { enrollmentSecret: data.result.token, publicKey: pem }).agent;
}

function scriptAgentDeployment(
  name: string,
  targetIds: string[],
  secrets: { db: string; basic: string },
): DeploymentCreate {
  return {
    name,
    kind: "postgres",
    connection: {
      host: "pg.internal",
      username: "backup",
      password: secrets.db,
      databases: ["billing"],
    },
    driver: {
      type: "script-agent",
      url: "https://pg-agent.internal:8000",
      username: "admin",
      password: secrets.basic,
    },
    schedules: [{ cron: "30 2 * * *" }],
    target_ids: targetIds,
    retention: { keep_daily: 14 },
    encryption: { algorithm: "aes-256-gcm", key_ref: "env:BILLING_PG_KEY" },
  };
}

describe("targets", () => {
  it("creates, reads, lists, updates and deletes a target of every type", async () => {
    const bodies: TargetCreate[] = [
      { type: "file", name: "crud-file", url: "file:///var/backups/stowage" },
      {
        type: "s3",
        name: "crud-s3",
        url: "s3://acme-backups/stowage",
        region: "eu-west-1",
        endpoint: "https://s3.eu-west-1.amazonaws.com",
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: secret("s3-key"),
      },
      {
        type: "smb",
        name: "crud-smb",
        url: "smb://fileserver:445/backups/stowage",
        domain: "CORP",
        username: "backup",
        password: secret("smb-pass"),
      },
      {
        type: "swift",
        name: "crud-swift",
        url: "swift://stowage-dr/orders",
        auth_url: "https://keystone.example:5000/v3",
        region: "RegionOne",
        domain: "Default",
        project_name: "backups",
        username: "stowage",
        password: secret("swift-pass"),
      },
    ];
    const expectedViews = [
      { type: "file", url: "file:///var/backups/stowage" },
      {
        type: "s3",
        region: "eu-west-1",
        endpoint: "https://s3.eu-west-1.amazonaws.com",
        path_style: false,
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key_set: true,
      },
      { type: "smb", domain: "CORP", username: "backup", password_set: true },
      {
        type: "swift",
        auth_url: "https://keystone.example:5000/v3",
        project_name: "backups",
        password_set: true,
      },
    ];
    for (const [index, body] of bodies.entries()) {
      const created = kept(await t.client().POST("/v1/targets", { body }));
      expect(created.response.status).toBe(201);
      const target = created.data?.result;
      expect(created.response.headers.get("location")).toBe(`/v1/targets/${target?.id}`);
      expect(target).toMatchObject({ ...expectedViews[index], name: body.name, description: null });
      expect(target).not.toHaveProperty("secret_access_key");
      expect(target).not.toHaveProperty("password");
      const id = target?.id ?? "";

      const read = kept(
        await t.client().GET("/v1/targets/{target}", { params: { path: { target: id } } }),
      );
      expect(read.data?.result).toEqual(target);

      const updated = kept(
        await t.client().PATCH("/v1/targets/{target}", {
          params: { path: { target: id } },
          body: { type: body.type, name: `${body.name}-renamed`, description: "moved" } as never,
        }),
      );
      expect(updated.response.status).toBe(200);
      expect(updated.data?.result).toMatchObject({
        ...expectedViews[index],
        id,
        name: `${body.name}-renamed`,
        description: "moved",
      });

      const listed = kept(
        await t.client().GET("/v1/targets", { params: { query: { limit: 1000 } } }),
      );
      expect(listed.data?.result.items.find((item) => item.id === id)?.name).toBe(
        `${body.name}-renamed`,
      );

      const removed = await t
        .client()
        .DELETE("/v1/targets/{target}", { params: { path: { target: id } } });
      expect(removed.response.status).toBe(204);
      const gone = await t
        .client()
        .GET("/v1/targets/{target}", { params: { path: { target: id } } });
      expect(gone.response.status).toBe(404);
      expect(gone.error?.error.code).toBe("resource.not_found");
    }
  });

  it("keeps a stored secret a patch omits, replaces one it gives, and refuses a type change", async () => {
    const first = secret("s3-first");
    const target = await createTarget({
      type: "s3",
      name: "rotate-s3",
      url: "s3://rotate/stowage",
      secret_access_key: first,
    });
    const storedSecret = () =>
      JSON.parse(stores.targets.byId(target.id, target.tenant_id)?.secrets ?? "{}") as {
        secret_access_key?: string;
      };

    const regionOnly = kept(
      await t.client().PATCH("/v1/targets/{target}", {
        params: { path: { target: target.id } },
        body: { type: "s3", region: "eu-central-1" },
      }),
    );
    expect(regionOnly.data?.result).toMatchObject({
      region: "eu-central-1",
      secret_access_key_set: true,
    });
    expect(storedSecret().secret_access_key).toBe(first);

    const second = secret("s3-second");
    const rotated = kept(
      await t.client().PATCH("/v1/targets/{target}", {
        params: { path: { target: target.id } },
        body: { type: "s3", secret_access_key: second },
      }),
    );
    expect(rotated.data?.result.secret_access_key_set).toBe(true);
    expect(storedSecret().secret_access_key).toBe(second);

    const retyped = kept(
      await t.client().PATCH("/v1/targets/{target}", {
        params: { path: { target: target.id } },
        body: { type: "file", url: "file:///tmp" },
      }),
    );
    expect(retyped.response.status).toBe(409);
    expect(retyped.error?.error.code).toBe("resource.conflict");

    const audit = kept(
      await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } }),
    ).data?.result.items.filter((entry) => entry.subject.target === target.id);
    expect(audit?.map((entry) => [entry.action, entry.details.changed])).toEqual([
      ["targets.create", undefined],
      ["targets.update", ["region"]],
      ["targets.update", ["secret_access_key"]],
    ]);
  });

  it("refuses a name taken in the tenant, on create and on rename (409)", async () => {
    await fileTarget("taken-name");
    const other = await fileTarget();
    const duplicate = kept(
      await t.client().POST("/v1/targets", {
        body: { type: "file", name: "taken-name", url: "file:///elsewhere" },
      }),
    );
    expect(duplicate.response.status).toBe(409);
    const rename = kept(
      await t.client().PATCH("/v1/targets/{target}", {
        params: { path: { target: other.id } },
        body: { type: "file", name: "taken-name" },
      }),
    );
    expect(rename.response.status).toBe(409);
  });

  it("refuses credentials written into a URL (400), so they are not answered as a setting", async () => {
    const { response, error } = kept(
      await t.client().POST("/v1/targets", {
        body: { type: "smb", name: "inline-creds", url: "smb://backup:hunter2@fileserver/share" },
      }),
    );
    expect(response.status).toBe(400);
    expect(error?.error.details).toEqual([expect.objectContaining({ path: "/body/url" })]);
  });

  it("refuses to delete a target a deployment uses (409), and deletes it once unused", async () => {
    const used = await fileTarget();
    const spare = await fileTarget();
    const created = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          name: "uses-target",
          kind: "sqlite",
          connection: { path: "/srv/app.db" },
          driver: { type: "pull", agent_id: (await enrolledAgent()).id },
          target_ids: [used.id],
        },
      }),
    );
    expect(created.response.status).toBe(201);
    const refused = kept(
      await t.client().DELETE("/v1/targets/{target}", { params: { path: { target: used.id } } }),
    );
    expect(refused.response.status).toBe(409);
    expect(refused.error?.error.message).toContain("uses-target");

    await t.client().PATCH("/v1/deployments/{deployment}", {
      params: { path: { deployment: "uses-target" } },
      body: { target_ids: [spare.id] },
    });
    const removed = await t
      .client()
      .DELETE("/v1/targets/{target}", { params: { path: { target: used.id } } });
    expect(removed.response.status).toBe(204);
  });
});

describe("deployments", () => {
  it("creates each driver's deployment with the spec's defaults and answers it by id or name", async () => {
    const target = await fileTarget();
    const agent = await enrolledAgent();
    const pull = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          name: "orders-db",
          kind: "mysql",
          connection: { host: "db.internal", username: "backup", password: secret("mysql") },
          driver: { type: "pull", agent_id: agent.id },
          schedules: [{ cron: "15 1 * * *", time_zone: "Europe/Berlin" }],
          target_ids: [target.id],
          scripts: { pre: "/etc/backup/pre.d" },
        },
      }),
    );
    expect(pull.response.status).toBe(201);
    const deployment = pull.data?.result;
    expect(pull.response.headers.get("location")).toBe(`/v1/deployments/${deployment?.id}`);
    expect(deployment).toMatchObject({
      name: "orders-db",
      description: null,
      kind: "mysql",
      connection: { host: "db.internal", port: 3306, username: "backup", password_set: true },
      driver: { type: "pull", agent_id: agent.id },
      schedules: [{ cron: "15 1 * * *", time_zone: "Europe/Berlin", level: "full" }],
      target_ids: [target.id],
      retention: {},
      compression: "gzip",
      encryption: null,
      scripts: { pre: "/etc/backup/pre.d" },
      paused: false,
    });
    const expectedNext = new Cron("15 1 * * *", { timezone: "Europe/Berlin" }).nextRun();
    expect(deployment?.next_run_at).toBe(expectedNext?.toISOString());

    const byName = kept(
      await t.client().GET("/v1/deployments/{deployment}", {
        params: { path: { deployment: "orders-db" } },
      }),
    );
    const byId = kept(
      await t.client().GET("/v1/deployments/{deployment}", {
        params: { path: { deployment: deployment?.id ?? "" } },
      }),
    );
    expect(byName.data?.result).toEqual(deployment);
    expect(byId.data?.result).toEqual(deployment);

    const scriptAgent = kept(
      await t.client().POST("/v1/deployments", {
        body: scriptAgentDeployment("billing-pg", [(await s3Target()).id], {
          db: secret("pg"),
          basic: secret("basic"),
        }),
      }),
    );
    expect(scriptAgent.response.status).toBe(201);
    expect(scriptAgent.data?.result).toMatchObject({
      connection: { host: "pg.internal", port: 5432, password_set: true },
      driver: {
        type: "script-agent",
        url: "https://pg-agent.internal:8000",
        username: "admin",
        password_set: true,
      },
      schedules: [{ cron: "30 2 * * *", time_zone: "UTC", level: "full" }],
    });

    const zeebe = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          name: "zeebe-prod",
          kind: "zeebe",
          driver: { type: "zeebe", url: "http://zeebe-gateway:9600/actuator/backups" },
          schedules: [{ cron: "0 */6 * * *" }],
          retention: { keep_last: 8 },
          paused: true,
        },
      }),
    );
    expect(zeebe.response.status).toBe(201);
    expect(zeebe.data?.result).toMatchObject({
      connection: {},
      driver: { type: "zeebe", username: null, password_set: false },
      target_ids: [],
      paused: true,
      next_run_at: null,
    });
  });

  it("patches as a merge patch: connection merges, given members replace, null clears", async () => {
    const target = await s3Target();
    const dbPassword = secret("merge-db");
    const created = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          ...scriptAgentDeployment("merge-me", [target.id], { db: dbPassword, basic: secret("b") }),
          description: "Billing database",
        },
      }),
    ).data?.result;
    const patched = kept(
      await t.client().PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: "merge-me" } },
        body: {
          connection: { port: 6432 },
          schedules: [{ cron: "0 * * * *", level: "incremental" }],
          description: null,
          retention: { keep_last: 3 },
        },
      }),
    );
    expect(patched.response.status).toBe(200);
    expect(patched.data?.result).toMatchObject({
      id: created?.id,
      connection: { host: "pg.internal", port: 6432, username: "backup", password_set: true },
      driver: { type: "script-agent", password_set: true },
      schedules: [{ cron: "0 * * * *", time_zone: "UTC", level: "incremental" }],
      description: null,
      encryption: { algorithm: "aes-256-gcm", key_ref: "env:BILLING_PG_KEY" },
      retention: { keep_last: 3 },
    });
    const row = stores.deployments.byIdOrName(created?.tenant_id ?? "", "merge-me");
    expect(JSON.parse(row?.secrets ?? "{}")).toMatchObject({
      connection: { password: dbPassword },
    });

    const rekind = kept(
      await t.client().PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: "merge-me" } },
        body: { kind: "mysql" } as never,
      }),
    );
    expect(rekind.response.status).toBe(409);

    await t.client().POST("/v1/deployments", {
      body: {
        name: "merge-taken",
        kind: "zeebe",
        driver: { type: "zeebe", url: "http://z:9600/actuator/backups" },
      },
    });
    const rename = kept(
      await t.client().PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: "merge-me" } },
        body: { name: "merge-taken" },
      }),
    );
    expect(rename.response.status).toBe(409);

    const invalid = kept(
      await t.client().PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: "merge-me" } },
        body: { target_ids: [] },
      }),
    );
    expect(invalid.response.status).toBe(400);
    expect(invalid.error?.error.details).toEqual([
      expect.objectContaining({ path: "/body/target_ids" }),
    ]);
  });

  it("is idempotent on name: 201, then 200 for the same settings, 409 for others", async () => {
    const target = await s3Target();
    const secrets = { db: secret("idem-db"), basic: secret("idem-basic") };
    const body = scriptAgentDeployment("idempotent", [target.id], secrets);
    const first = kept(await t.client().POST("/v1/deployments", { body }));
    expect(first.response.status).toBe(201);
    // The same settings spelled with their defaults are the same settings.
    const again = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          ...body,
          connection: { ...body.connection, port: 5432 },
          schedules: [{ cron: "30 2 * * *", time_zone: "UTC", level: "full" }],
          compression: "gzip",
        },
      }),
    );
    expect(again.response.status).toBe(200);
    expect(again.data?.result).toEqual(first.data?.result);

    const otherPassword = kept(
      await t.client().POST("/v1/deployments", {
        body: { ...body, connection: { ...body.connection, password: secret("idem-other") } },
      }),
    );
    expect(otherPassword.response.status).toBe(409);
    expect(otherPassword.error?.error.details).toEqual([
      expect.objectContaining({ path: "/body/connection/password" }),
    ]);
    const otherSchedule = kept(
      await t.client().POST("/v1/deployments", {
        body: { ...body, schedules: [{ cron: "0 3 * * *" }] },
      }),
    );
    expect(otherSchedule.response.status).toBe(409);
    expect(otherSchedule.error?.error.details).toEqual([
      expect.objectContaining({ path: "/body/schedules" }),
    ]);

    const audit = (await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } })).data
      ?.result.items;
    expect(
      audit?.filter(
        (entry) =>
          entry.action === "deployments.create" &&
          entry.subject.deployment === first.data?.result.id,
      ),
    ).toHaveLength(1);
  });

  it("answers 400 with every broken rule in details", async () => {
    const foreign = await tenantToken();
    const foreignTarget = await fileTarget(undefined, foreign.secret);
    const { response, error } = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          name: "broken",
          kind: "mysql",
          connection: { path: "/not/for/mysql" },
          driver: { type: "zeebe", url: "http://zeebe:9600/actuator/backups" },
          schedules: [
            { cron: "61 * * * *" },
            { cron: "0 1 * * *", time_zone: "Mars/Olympus" },
            { cron: "0 0 31 2 *" },
          ],
          target_ids: ["tgt_does_not_exist", foreignTarget.id],
          scripts: { pre: "/etc/pre.d" },
        },
      }),
    );
    expect(response.status).toBe(400);
    expect(error?.error.code).toBe("request.invalid");
    expect(error?.error.details?.map((detail) => detail.path).sort()).toEqual(
      [
        "/body/driver/type",
        "/body/connection/path",
        "/body/connection/host",
        "/body/scripts",
        "/body/target_ids/0",
        "/body/target_ids/1",
        "/body/schedules/0/cron",
        "/body/schedules/1/time_zone",
        "/body/schedules/2/cron",
      ].sort(),
    );

    const noPassword = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          name: "no-basic-password",
          kind: "postgres",
          connection: { host: "pg" },
          driver: { type: "script-agent", url: "https://agent:8000", username: "admin" },
        },
      }),
    );
    expect(noPassword.error?.error.details?.map((detail) => detail.path).sort()).toEqual([
      "/body/connection/databases",
      "/body/driver/password",
      "/body/encryption",
      "/body/target_ids",
    ]);
    const missing = await t.client().GET("/v1/deployments/{deployment}", {
      params: { path: { deployment: "broken" } },
    });
    expect(missing.response.status).toBe(404);
  });

  it("refuses a script-agent deployment its agent cannot run, on create and on patch", async () => {
    const file = await fileTarget();
    const s3 = await s3Target();
    const body = scriptAgentDeployment("script-rules", [s3.id], {
      db: secret("rules-db"),
      basic: secret("rules-basic"),
    });
    const refusals: [DeploymentCreate, string][] = [
      [{ ...body, target_ids: [file.id] }, "/body/target_ids"],
      [{ ...body, encryption: undefined }, "/body/encryption"],
      [
        { ...body, connection: { ...body.connection, databases: [] } },
        "/body/connection/databases",
      ],
      [
        { ...body, connection: { ...body.connection, databases: ["billing", "ledger"] } },
        "/body/connection/databases",
      ],
    ];
    for (const [refused, path] of refusals) {
      const { response, error } = kept(await t.client().POST("/v1/deployments", { body: refused }));
      expect(response.status).toBe(400);
      expect(error?.error.code).toBe("request.invalid");
      expect(error?.error.details?.map((detail) => detail.path)).toEqual([path]);
    }
    // One of them is enough: the script agent uploads to it, the file target is a second copy.
    const created = kept(
      await t.client().POST("/v1/deployments", { body: { ...body, target_ids: [file.id, s3.id] } }),
    );
    expect(created.response.status).toBe(201);

    const patches: [DeploymentUpdate, string][] = [
      [{ target_ids: [file.id] }, "/body/target_ids"],
      [{ encryption: null }, "/body/encryption"],
      [{ connection: { databases: ["billing", "ledger"] } }, "/body/connection/databases"],
    ];
    for (const [patch, path] of patches) {
      const { response, error } = kept(
        await t.client().PATCH("/v1/deployments/{deployment}", {
          params: { path: { deployment: "script-rules" } },
          body: patch,
        }),
      );
      expect(response.status).toBe(400);
      expect(error?.error.details?.map((detail) => detail.path)).toEqual([path]);
    }
    const unchanged = kept(
      await t.client().GET("/v1/deployments/{deployment}", {
        params: { path: { deployment: "script-rules" } },
      }),
    );
    expect(unchanged.data?.result).toEqual(created.data?.result);
  });

  it("requires a pull driver's agent to be an active agent of the caller's tenant", async () => {
    const target = await fileTarget();
    const foreign = await tenantToken();
    const foreignAgent = await enrolledAgent(foreign.secret);
    const revoked = await enrolledAgent();
    await t.client().DELETE("/v1/agents/{agent}", { params: { path: { agent: revoked.id } } });
    for (const agentId of ["agt_unknown", foreignAgent.id, revoked.id]) {
      const { response, error } = kept(
        await t.client().POST("/v1/deployments", {
          body: {
            name: `pull-${randomUUID().slice(0, 8)}`,
            kind: "files",
            connection: { paths: ["/srv"] },
            driver: { type: "pull", agent_id: agentId },
            target_ids: [target.id],
          },
        }),
      );
      expect(response.status).toBe(400);
      expect(error?.error.details).toEqual([
        expect.objectContaining({ path: "/body/driver/agent_id" }),
      ]);
    }
  });

  it("deletes a deployment (204), but not while it has a queued or running job (409)", async () => {
    const created = kept(
      await t.client().POST("/v1/deployments", {
        body: {
          name: "short-lived",
          kind: "zeebe",
          driver: { type: "zeebe", url: "http://z:9600/actuator/backups" },
        },
      }),
    ).data?.result;
    const id = created?.id ?? "";
    // Another part owns the jobs table; a queued row is all this rule looks at.
    db.prepare(
      `INSERT INTO jobs (id, tenant_id, deployment_id, kind, status, trigger, params, created_at)
       VALUES (?, ?, ?, 'backup', 'QUEUED', 'manual', '{}', ?)`,
    ).run(`job_${randomUUID()}`, created?.tenant_id, id, new Date().toISOString());
    const refused = kept(
      await t
        .client()
        .DELETE("/v1/deployments/{deployment}", { params: { path: { deployment: id } } }),
    );
    expect(refused.response.status).toBe(409);
    db.prepare("UPDATE jobs SET status = 'CANCELLED' WHERE deployment_id = ?").run(id);

    const removed = await t
      .client()
      .DELETE("/v1/deployments/{deployment}", { params: { path: { deployment: "short-lived" } } });
    expect(removed.response.status).toBe(204);
    const gone = await t
      .client()
      .GET("/v1/deployments/{deployment}", { params: { path: { deployment: id } } });
    expect(gone.response.status).toBe(404);
  });
});

describe("tenancy, pagination and verbs", () => {
  it("answers 404 for another tenant's targets and deployments, and never lists them", async () => {
    const target = await fileTarget();
    await t.client().POST("/v1/deployments", {
      body: {
        name: "mine-only",
        kind: "zeebe",
        driver: { type: "zeebe", url: "http://z:9600/actuator/backups" },
        target_ids: [target.id],
      },
    });
    const mine = (
      await t.client().GET("/v1/deployments/{deployment}", {
        params: { path: { deployment: "mine-only" } },
      })
    ).data?.result;
    const other = t.client((await tenantToken()).secret);

    const targetPath = { params: { path: { target: target.id } } };
    expect((await other.GET("/v1/targets/{target}", targetPath)).response.status).toBe(404);
    expect(
      (
        await other.PATCH("/v1/targets/{target}", {
          ...targetPath,
          body: { type: "file", description: "x" },
        })
      ).response.status,
    ).toBe(404);
    expect((await other.DELETE("/v1/targets/{target}", targetPath)).response.status).toBe(404);

    for (const key of [mine?.id ?? "", "mine-only"]) {
      const deploymentPath = { params: { path: { deployment: key } } };
      const read = await other.GET("/v1/deployments/{deployment}", deploymentPath);
      expect(read.response.status).toBe(404);
      expect(read.error?.error.code).toBe("resource.not_found");
      expect(
        (
          await other.PATCH("/v1/deployments/{deployment}", {
            ...deploymentPath,
            body: { paused: true },
          })
        ).response.status,
      ).toBe(404);
      expect(
        (await other.DELETE("/v1/deployments/{deployment}", deploymentPath)).response.status,
      ).toBe(404);
    }
    expect((await other.GET("/v1/targets")).data?.result.items).toEqual([]);
    expect((await other.GET("/v1/deployments")).data?.result.items).toEqual([]);
    // Untouched by the other tenant's attempts.
    expect(
      (
        await t
          .client()
          .GET("/v1/deployments/{deployment}", { params: { path: { deployment: "mine-only" } } })
      ).data?.result,
    ).toEqual(mine);
  });

  it("pages targets and deployments by name with limit and an opaque marker", async () => {
    const { secret: own } = await tenantToken();
    const client = t.client(own);
    const names = ["delta", "alpha", "echo", "charlie", "bravo"];
    for (const name of names) {
      await fileTarget(name, own);
      await client.POST("/v1/deployments", {
        body: {
          name,
          kind: "zeebe",
          driver: { type: "zeebe", url: "http://z:9600/actuator/backups" },
        },
      });
    }
    await client.POST("/v1/deployments", {
      body: {
        name: "foxtrot",
        kind: "sqlite",
        connection: { path: "/a.db" },
        driver: { type: "pull", agent_id: (await enrolledAgent(own)).id },
        target_ids: [(await fileTarget("zulu", own)).id],
      },
    });

    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const { data, response } = await client.GET("/v1/deployments", {
        params: { query: { limit: 2, marker, kind: "zeebe" } },
      });
      pages++;
      expect(data?.result.items.length).toBeLessThanOrEqual(2);
      seen.push(...(data?.result.items.map((item) => item.name) ?? []));
      marker = data?.result.next_marker ?? undefined;
      if (marker) expect(response.headers.get("link")).toContain(`marker=${marker}`);
      else expect(response.headers.get("link")).toBeNull();
    } while (marker);
    expect(seen).toEqual([...names].sort());
    expect(pages).toBe(3);

    const firstTargets = await client.GET("/v1/targets", { params: { query: { limit: 3 } } });
    const restTargets = await client.GET("/v1/targets", {
      params: { query: { limit: 1000, marker: firstTargets.data?.result.next_marker ?? "" } },
    });
    const targetNames = [
      ...(firstTargets.data?.result.items ?? []),
      ...(restTargets.data?.result.items ?? []),
    ].map((item) => item.name);
    expect(targetNames).toEqual([...[...names].sort(), "zulu"]);
    expect(restTargets.data?.result.next_marker).toBeNull();

    const forged = await client.GET("/v1/targets", { params: { query: { marker: "forged" } } });
    expect(forged.response.status).toBe(400);
  });

  it("refuses changes without deployment:write (403) and reads without backup:read", async () => {
    const target = await fileTarget();
    const reader = t.client(await token(["backup:read"]));
    expect(
      (await reader.GET("/v1/targets/{target}", { params: { path: { target: target.id } } }))
        .response.status,
    ).toBe(200);
    const refusals = [
      await reader.POST("/v1/targets", { body: { type: "file", name: "nope", url: "file:///x" } }),
      await reader.PATCH("/v1/targets/{target}", {
        params: { path: { target: target.id } },
        body: { type: "file", description: "nope" },
      }),
      await reader.DELETE("/v1/targets/{target}", { params: { path: { target: target.id } } }),
      await reader.POST("/v1/deployments", {
        body: {
          name: "nope",
          kind: "zeebe",
          driver: { type: "zeebe", url: "http://z:9600/actuator/backups" },
        },
      }),
      await reader.PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: "nope" } },
        body: { paused: true },
      }),
      await reader.DELETE("/v1/deployments/{deployment}", {
        params: { path: { deployment: "nope" } },
      }),
    ];
    for (const refusal of refusals) {
      expect(refusal.response.status).toBe(403);
      expect(refusal.error?.error.code).toBe("authz.denied");
    }
    const writer = t.client(await token(["deployment:write"]));
    expect((await writer.GET("/v1/deployments")).response.status).toBe(403);
    expect(
      (await t.client().GET("/v1/targets/{target}", { params: { path: { target: target.id } } }))
        .data?.result.description,
    ).toBeNull();
  });
});

describe("write-only secrets", () => {
  it("never answers, logs or audits a secret, on any operation", async () => {
    const values = {
      s3: secret("scan-s3"),
      smb: secret("scan-smb"),
      swift: secret("scan-swift"),
      db: secret("scan-db"),
      basic: secret("scan-basic"),
      zeebe: secret("scan-zeebe"),
      rotated: secret("scan-rotated"),
      wrong: secret("scan-wrong"),
    };
    const s3 = await createTarget({
      type: "s3",
      name: "scan-s3",
      url: "s3://scan/x",
      secret_access_key: values.s3,
    });
    await createTarget({
      type: "smb",
      name: "scan-smb",
      url: "smb://h/share/x",
      password: values.smb,
    });
    await createTarget({
      type: "swift",
      name: "scan-swift",
      url: "swift://scan/x",
      auth_url: "https://keystone:5000/v3",
      username: "u",
      password: values.swift,
    });
    const body = scriptAgentDeployment("scan-pg", [s3.id], { db: values.db, basic: values.basic });
    expect(kept(await t.client().POST("/v1/deployments", { body })).response.status).toBe(201);
    expect(kept(await t.client().POST("/v1/deployments", { body })).response.status).toBe(200);
    expect(
      kept(
        await t.client().POST("/v1/deployments", {
          body: {
            ...body,
            driver: { ...body.driver, password: values.wrong } as typeof body.driver,
          },
        }),
      ).response.status,
    ).toBe(409);
    expect(
      kept(
        await t.client().POST("/v1/deployments", {
          body: { ...body, name: "scan-invalid", schedules: [{ cron: "bad cron here now x" }] },
        }),
      ).response.status,
    ).toBe(400);
    kept(
      await t.client().POST("/v1/deployments", {
        body: {
          name: "scan-zeebe",
          kind: "zeebe",
          driver: {
            type: "zeebe",
            url: "http://z:9600/actuator/backups",
            username: "u",
            password: values.zeebe,
          },
        },
      }),
    );
    kept(
      await t.client().PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: "scan-pg" } },
        body: { connection: { password: values.rotated } },
      }),
    );
    kept(
      await t.client().PATCH("/v1/targets/{target}", {
        params: { path: { target: s3.id } },
        body: { type: "s3", secret_access_key: values.rotated },
      }),
    );
    kept(await t.client().GET("/v1/targets", { params: { query: { limit: 1000 } } }));
    kept(await t.client().GET("/v1/deployments", { params: { query: { limit: 1000 } } }));
    kept(
      await t
        .client()
        .GET("/v1/deployments/{deployment}", { params: { path: { deployment: "scan-zeebe" } } }),
    );
    // A job of a deployment with secrets records events: they must not carry the secrets either.
    kept(
      await t
        .client()
        .requestAs("post", "/v1/deployments/{deployment}/backups", "application/json", {
          params: { path: { deployment: "scan-pg" } },
          body: {},
        }),
    );
    const events = kept(
      await t
        .client()
        .requestAs("get", "/v1/events", "application/json", { params: { query: { limit: 1000 } } }),
    );
    expect(events.data?.result.items.length).toBeGreaterThan(0);
    const eventRows = JSON.stringify(db.prepare("SELECT * FROM events").all());
    const audit = kept(await t.client().GET("/v1/audit", { params: { query: { limit: 1000 } } }));
    const auditRows = JSON.stringify(db.prepare("SELECT * FROM audit_entries").all());

    const updateEntry = audit.data?.result.items.find(
      (entry) => entry.action === "deployments.update" && entry.details.name === "scan-pg",
    );
    expect(updateEntry?.details.changed).toEqual(["connection.password"]);
    const createEntry = audit.data?.result.items.find(
      (entry) => entry.action === "deployments.create" && entry.details.name === "scan-pg",
    );
    expect(createEntry?.details.secrets_set).toEqual(["connection.password", "driver.password"]);

    // Every secret any test of this file sent, not only this test's.
    const everything = [JSON.stringify(answers), t.logs.join("\n"), auditRows, eventRows].join(
      "\n",
    );
    const leaked = issuedSecrets.filter((value) => everything.includes(value));
    expect(leaked).toEqual([]);
    expect(issuedSecrets).toEqual(expect.arrayContaining(Object.values(values)));
    // The scan saw real traffic: answers from every test in this file, and log lines.
    expect(answers.length).toBeGreaterThan(40);
    expect(t.logs.some((line) => line.includes("createDeployment"))).toBe(true);
  });
});
