/**
 * The agent's config document (`getConfig`): v1 (databacker) and v2 (stowage) rendered from
 * deployments and targets created through the real control API, the 406 rules of v1, the strong
 * ETag, and where secrets may appear. The render service is driven directly, on a second
 * connection to the running controller's database.
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express from "express";
import Ajv, { type ValidateFunction } from "ajv";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { ConfigV1Schema, ConfigV2Schema } from "@stowage/agent-client";
import { createAgentRouter, openapiDocument } from "@stowage/agent-server";
import type { components, ControlClient } from "@stowage/control-client";
import { ApiError } from "@stowage/server-runtime";
import { sharedAvailable, sharedDir } from "../../../scripts/test-support/shared-dir";
import { configHandlers } from "../src/http/agent/config";
import { ifNoneMatchMatches } from "../src/http/agent/if-none-match";
import {
  AgentConfigService,
  type AgentConfigOptions,
  type ConfigReader,
} from "../src/services/agent-config/agent-config-service";
import type { AgentPrincipal } from "../src/services/agent-principal";
import type { Stores } from "../src/services/control-context";
import { DEFAULT_JOB_SETTINGS } from "../src/services/jobs-service";
import type { Db } from "../src/store/database";
import { AgentConfigStore } from "../src/store/agent-config-store";
import type { AgentRow } from "../src/store/agents-store";
import { enrolledAgent, must, secondConnection } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";

const V2_MEDIA = "application/vnd.stowage.agent-config.v2+json";
const PIN = `sha256:${"ab".repeat(32)}`;
const SECRETS = {
  db: "db-pass-7Hq2",
  s3: "s3-secret-Zx81",
  smb: "smb-pass-Lm40",
  swift: "swift-pass-Qa93",
};

let t: TestController;
let client: ControlClient;
let db: Db;
let stores: Stores;

beforeAll(async () => {
  t = await startTestController();
  client = t.client();
  ({ db, stores } = secondConnection(t));
});

afterAll(async () => {
  db.close();
  await t.stop();
});

function service(options: Partial<AgentConfigOptions> = {}): AgentConfigService {
  return new AgentConfigService(new AgentConfigStore(db), {
    publicUrl: () => t.url,
    reporting: "here",
    certificatePin: PIN,
    jobLeaseMs: 90_000,
    ...options,
  });
}

function reader(agent: AgentRow): ConfigReader {
  return { agentId: agent.id, tenantId: agent.tenant_id, agentName: agent.name };
}

/** What a render threw, for `expect`; anything but an ApiError is a bug and is rethrown. */
function refusal(render: () => unknown): ApiError {
  try {
    render();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("rendered, expected a refusal");
}

let names = 0;
function uniqueName(prefix: string): string {
  names += 1;
  return `${prefix}-${names}`;
}

async function fileTarget(): Promise<{ id: string; name: string }> {
  return must(
    await client.POST("/v1/targets", {
      body: { type: "file", name: uniqueName("disk"), url: "file:///var/backups/orders" },
    }),
  );
}

async function s3Target(): Promise<{ id: string; name: string }> {
  return must(
    await client.POST("/v1/targets", {
      body: {
        type: "s3",
        name: uniqueName("offsite"),
        url: "s3://backups-bucket/orders",
        region: "eu-west-1",
        endpoint: "https://s3.eu-west-1.amazonaws.com",
        access_key_id: "AKIAEXAMPLEKEY",
        secret_access_key: SECRETS.s3,
      },
    }),
  );
}

async function smbTarget(): Promise<{ id: string; name: string }> {
  return must(
    await client.POST("/v1/targets", {
      body: {
        type: "smb",
        name: uniqueName("share"),
        url: "smb://fileserver:445/backups/orders",
        domain: "CORP",
        username: "backup",
        password: SECRETS.smb,
      },
    }),
  );
}

async function swiftTarget(): Promise<{ id: string; name: string }> {
  return must(
    await client.POST("/v1/targets", {
      body: {
        type: "swift",
        name: uniqueName("swift"),
        url: "swift://backups/orders",
        auth_url: "https://keystone.example:5000/v3",
        project_name: "ops",
        username: "backup",
        password: SECRETS.swift,
      },
    }),
  );
}

type DeploymentCreate = components["schemas"]["DeploymentCreate"];

/** A MySQL deployment v1 can express, with `overrides` applied, on the agent. */
async function deployment(
  agent: AgentRow,
  targetIds: string[],
  overrides: Partial<Omit<DeploymentCreate, "driver">> = {},
): Promise<{ id: string; name: string }> {
  const body: DeploymentCreate = {
    name: uniqueName("orders-db"),
    kind: "mysql" as const,
    connection: {
      host: "db.internal",
      port: 3306,
      username: "backup",
      password: SECRETS.db,
    },
    schedules: [{ cron: "15 1 * * *" }],
    target_ids: targetIds,
    ...overrides,
    driver: { type: "pull", agent_id: agent.id },
  };
  return must(await client.POST("/v1/deployments", { body }));
}

function referenceValidator(): ValidateFunction | undefined {
  if (!sharedAvailable("the databacker reference schema check")) return undefined;
  const reference = parse(
    readFileSync(path.join(sharedDir, "reference", "databacker-api", "schemas.yaml"), "utf8"),
  ) as object;
  const id = "https://stowage.invalid/reference/databacker-api/schemas.yaml";
  // The reference declares `discriminator` without `oneOf`, which Ajv cannot honour.
  const ajv = new Ajv({ strict: false, discriminator: false, allErrors: true });
  ajv.addSchema(reference, id);
  return ajv.compile({ $ref: `${id}#/components/schemas/Config` });
}

/** Our own spec's schema (OpenAPI 3.1: JSON Schema 2020-12), as the router validates it. */
function specValidator(schema: "ConfigV1" | "ConfigV2"): ValidateFunction {
  const id = "https://stowage.invalid/openapi/agent.yaml";
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(openapiDocument, id);
  return ajv.compile({ $ref: `${id}#/components/schemas/${schema}` });
}

function verdict(validate: ValidateFunction, document: unknown) {
  return { valid: validate(document), errors: validate.errors ?? null };
}

describe("config v1", () => {
  it("renders a MySQL deployment as the databacker Config, valid for the reference schema", async () => {
    const agent = await enrolledAgent(client, stores);
    const [disk, offsite, share] = [await fileTarget(), await s3Target(), await smbTarget()];
    const created = await deployment(agent, [disk.id, offsite.id, share.id], {
      connection: {
        host: "db.internal",
        port: 3307,
        username: "backup",
        password: SECRETS.db,
        databases: ["orders", "customers"],
        exclude: ["sessions"],
      },
      schedules: [{ cron: "15 1 * * *", time_zone: "UTC" }],
      retention: { keep_last: 7 },
      compression: "gzip",
      scripts: {
        pre: "/etc/backup/pre.d",
        post: "/etc/backup/post.d",
        pre_restore: "/etc/backup/pre-restore.d",
        post_restore: "/etc/backup/post-restore.d",
      },
    });

    const { document, etag } = service().renderV1(reader(agent));

    expect(document).toEqual({
      version: "config.databack.io/v1",
      kind: "local",
      metadata: { name: created.name },
      spec: {
        logging: "info",
        database: {
          server: "db.internal",
          port: 3307,
          credentials: { username: "backup", password: SECRETS.db },
        },
        dump: {
          include: ["orders", "customers"],
          exclude: ["sessions"],
          schedule: { cron: "15 1 * * *" },
          compression: "gzip",
          targets: [disk.name, offsite.name, share.name],
          scripts: { preBackup: "/etc/backup/pre.d", postBackup: "/etc/backup/post.d" },
        },
        prune: { retention: "7c" },
        restore: {
          preRestore: "/etc/backup/pre-restore.d",
          postRestore: "/etc/backup/post-restore.d",
        },
        targets: {
          [disk.name]: { type: "file", url: "file:///var/backups/orders" },
          [offsite.name]: {
            type: "s3",
            url: "s3://backups-bucket/orders",
            spec: {
              region: "eu-west-1",
              endpoint: "https://s3.eu-west-1.amazonaws.com",
              pathStyle: false,
              accessKeyID: "AKIAEXAMPLEKEY",
              secretAccessKey: SECRETS.s3,
            },
          },
          [share.name]: {
            type: "smb",
            url: "smb://fileserver:445/backups/orders",
            spec: { domain: "CORP", username: "backup", password: SECRETS.smb },
          },
        },
        // The traces route of this controller, pinned; never the agent's seed.
        telemetry: {
          url: `${t.url}/engines/telemetry/${agent.id}/traces`,
          certificates: [PIN],
        },
      },
    });
    expect(etag).toMatch(/^"v1-[A-Za-z0-9_-]{43}"$/);

    // What is served is JSON: check the bytes, not the object (undefined members vanish).
    const served: unknown = JSON.parse(JSON.stringify(document));
    const reference = referenceValidator();
    if (reference) expect(verdict(reference, served)).toEqual({ valid: true, errors: null });
    expect(verdict(specValidator("ConfigV1"), served)).toEqual({ valid: true, errors: null });
    expect(ConfigV1Schema.safeParse(served).success).toBe(true);
  });

  it("renders an agent without deployments as logging and telemetry only", async () => {
    const agent = await enrolledAgent(client, stores);
    const served: unknown = JSON.parse(JSON.stringify(service().renderV1(reader(agent)).document));
    expect(served).toEqual({
      version: "config.databack.io/v1",
      kind: "local",
      metadata: { name: agent.name },
      spec: {
        logging: "info",
        telemetry: {
          url: `${t.url}/engines/telemetry/${agent.id}/traces`,
          certificates: [PIN],
        },
      },
    });
    const reference = referenceValidator();
    if (reference) expect(verdict(reference, served)).toEqual({ valid: true, errors: null });
  });

  it.each([
    [
      "reporting elsewhere: that URL, without this controller's pin",
      { reporting: { url: "https://reports.example:8443/" } },
      (id: string) => ({
        url: `https://reports.example:8443/engines/telemetry/${id}/traces`,
        certificates: [],
      }),
    ],
    ["reporting off: no telemetry", { reporting: "off" as const }, () => undefined],
    [
      "plain HTTP: no pin",
      { certificatePin: undefined },
      (id: string) => ({ url: `${t.url}/engines/telemetry/${id}/traces`, certificates: [] }),
    ],
  ])("fills telemetry by where reports go (%s)", async (_name, options, want) => {
    const agent = await enrolledAgent(client, stores);
    const { document } = service(options).renderV1(reader(agent));
    expect(document.spec.telemetry).toEqual(want(agent.id));
  });

  describe("406 when v1 cannot say it", () => {
    it.each<[string, (agent: AgentRow) => Promise<void>, string]>([
      [
        "more than one deployment",
        async (agent) => {
          const disk = await fileTarget();
          await deployment(agent, [disk.id]);
          await deployment(agent, [disk.id]);
        },
        "/deployments",
      ],
      [
        "a postgres deployment",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], {
            kind: "postgres",
            connection: { host: "pg.internal", username: "backup" },
          });
        },
        "/kind",
      ],
      [
        "a sqlite deployment",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], {
            kind: "sqlite",
            connection: { path: "/srv/app.db" },
          });
        },
        "/kind",
      ],
      [
        "a time zone other than UTC",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], {
            schedules: [{ cron: "15 1 * * *", time_zone: "Europe/Berlin" }],
          });
        },
        "/schedules/0/time_zone",
      ],
      [
        "several schedules",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], {
            schedules: [{ cron: "15 1 * * *" }, { cron: "0 */6 * * *" }],
          });
        },
        "/schedules",
      ],
      [
        "no schedule (on demand only)",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], { schedules: [] });
        },
        "/schedules",
      ],
      [
        "an incremental schedule",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], {
            schedules: [{ cron: "15 1 * * *", level: "incremental" }],
          });
        },
        "/schedules/0/level",
      ],
      [
        "a paused deployment",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], { paused: true });
        },
        "/paused",
      ],
      [
        "a swift target",
        async (agent) => {
          const swift = await swiftTarget();
          await deployment(agent, [swift.id]);
        },
        "/targets/",
      ],
      [
        "aes-256-gcm encryption",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], {
            encryption: { algorithm: "aes-256-gcm", key_ref: "file:/etc/stowage/keys/db.key" },
          });
        },
        "/encryption/algorithm",
      ],
      [
        "a calendar retention rule",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], {
            retention: { keep_last: 3, keep_daily: 7 },
          });
        },
        "/retention/keep_daily",
      ],
      [
        "a retention keeping none",
        async (agent) => {
          await deployment(agent, [(await fileTarget()).id], { retention: { keep_last: 0 } });
        },
        "/retention/keep_last",
      ],
    ])("refuses %s, naming it, with a suggestion to ask for v2", async (_name, arrange, where) => {
      const agent = await enrolledAgent(client, stores);
      await arrange(agent);
      const error = refusal(() => service().renderV1(reader(agent)));
      expect(error.status).toBe(406);
      expect(error.code).toBe("request.not_acceptable");
      expect(error.suggestion?.human).toContain(V2_MEDIA);
      expect(error.details?.map((detail) => detail.path).join(" ")).toContain(where);
      // The refusal names settings, never their secret values.
      expect(JSON.stringify({ message: error.message, details: error.details })).not.toMatch(
        new RegExp(Object.values(SECRETS).join("|")),
      );
      // The same deployments are fine in v2.
      expect(() => service().renderV2(reader(agent))).not.toThrow();
    });

    it("names every problem in one answer", async () => {
      const agent = await enrolledAgent(client, stores);
      const created = await deployment(agent, [(await swiftTarget()).id], {
        schedules: [{ cron: "15 1 * * *", time_zone: "America/New_York" }],
        retention: { keep_weekly: 4 },
        paused: true,
      });
      const error = refusal(() => service().renderV1(reader(agent)));
      const at = `/deployments/${created.name}`;
      expect(error.details?.map((detail) => detail.path)).toEqual([
        `${at}/paused`,
        `${at}/schedules/0/time_zone`,
        `${at}/retention/keep_weekly`,
        expect.stringMatching(new RegExp(`^${at}/targets/swift-\\d+$`)),
      ]);
    });
  });
});

describe("config v2", () => {
  it("renders every deployment with schedules, targets, retention and secrets, valid for the spec", async () => {
    const agent = await enrolledAgent(client, stores);
    const [disk, offsite, share, swift] = [
      await fileTarget(),
      await s3Target(),
      await smbTarget(),
      await swiftTarget(),
    ];
    const orders = await deployment(agent, [disk.id, offsite.id, share.id, swift.id], {
      name: "a-orders.db_1",
      connection: {
        host: "db.internal",
        username: "backup",
        password: SECRETS.db,
        databases: ["orders"],
      },
      schedules: [
        { cron: "15 1 * * *", time_zone: "Europe/Berlin" },
        { cron: "@hourly", time_zone: "UTC", level: "incremental" },
      ],
      retention: { keep_last: 3, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 },
      compression: "none",
      encryption: { algorithm: "aes-256-gcm", key_ref: "env:ORDERS_KEY" },
      scripts: { pre: "/etc/stowage/hooks/pre.sh", post_restore: "/etc/stowage/hooks/after.sh" },
    });
    const files = await deployment(agent, [disk.id], {
      name: "b-files",
      kind: "files",
      connection: { paths: ["/srv/www", "/etc/nginx"], exclude: ["*.tmp"] },
      schedules: [],
      paused: true,
    });

    const { document, etag } = service({ jobLeaseMs: 1500 }).renderV2(
      reader(agent),
      new Date("2025-11-26T06:55:00.000Z"),
    );

    expect(document).toEqual({
      version: "config.stowage.io/v2",
      instance: agent.id,
      generated_at: "2025-11-26T06:55:00.000Z",
      metadata: { name: agent.name },
      logging: "info",
      telemetry: { logs: true, events: true, traces: false },
      jobs: {
        enabled: true,
        wait_seconds: 30,
        retry_interval_seconds: 15,
        max_concurrent: 1,
        lease_seconds: 2,
      },
      deployments: [
        {
          name: orders.name,
          kind: "mysql",
          connection: {
            host: "db.internal",
            port: 3306,
            username: "backup",
            password: SECRETS.db,
            databases: { include: ["orders"] },
          },
          schedules: [
            { cron: "15 1 * * *", time_zone: "Europe/Berlin", level: "full" },
            { cron: "@hourly", time_zone: "UTC", level: "incremental" },
          ],
          targets: [
            { type: "file", name: disk.name, path: "/var/backups/orders" },
            {
              type: "s3",
              name: offsite.name,
              bucket: "backups-bucket",
              prefix: "orders/",
              region: "eu-west-1",
              endpoint: "https://s3.eu-west-1.amazonaws.com",
              path_style: false,
              access_key_id: "AKIAEXAMPLEKEY",
              secret_access_key: SECRETS.s3,
            },
            {
              type: "smb",
              name: share.name,
              host: "fileserver",
              port: 445,
              share: "backups",
              path: "orders",
              domain: "CORP",
              username: "backup",
              password: SECRETS.smb,
            },
            {
              type: "swift",
              name: swift.name,
              auth_url: "https://keystone.example:5000/v3",
              container: "backups",
              prefix: "orders/",
              username: "backup",
              password: SECRETS.swift,
              project_name: "ops",
            },
          ],
          retention: { keep_last: 3, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 },
          compression: { algorithm: "none" },
          encryption: { algorithm: "aes-256-gcm", key_ref: "env:ORDERS_KEY" },
          scripts: {
            pre_backup: ["/etc/stowage/hooks/pre.sh"],
            post_restore: ["/etc/stowage/hooks/after.sh"],
          },
          paused: false,
        },
        {
          name: files.name,
          kind: "files",
          connection: { paths: ["/srv/www", "/etc/nginx"], exclude: ["*.tmp"] },
          schedules: [],
          targets: [{ type: "file", name: disk.name, path: "/var/backups/orders" }],
          retention: {},
          compression: { algorithm: "gzip" },
          paused: true,
        },
      ],
    });
    expect(etag).toMatch(/^"v2-[A-Za-z0-9_-]{43}"$/);

    const served = JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
    const validate = specValidator("ConfigV2");
    expect(verdict(validate, served)).toEqual({ valid: true, errors: null });
    // The validator does bite: a deployment without its required members is refused.
    expect(validate({ ...served, deployments: [{ name: "x", kind: "mysql" }] })).toBe(false);
    expect(ConfigV2Schema.safeParse(served).success).toBe(true);
  });
});

describe("ETag", () => {
  it("stays while the settings do and changes with a deployment or a target secret", async () => {
    const agent = await enrolledAgent(client, stores);
    const offsite = await s3Target();
    const created = await deployment(agent, [offsite.id], { retention: { keep_last: 5 } });
    const configs = service();
    const v1 = configs.renderV1(reader(agent));
    const v2 = configs.renderV2(reader(agent));
    expect(v1.etag).not.toBe(v2.etag);

    // Same settings: same tags, and v2 keeps its generated_at (its bytes are unchanged).
    const later = new Date(Date.now() + 60_000);
    expect(configs.renderV1(reader(agent)).etag).toBe(v1.etag);
    const v2Again = configs.renderV2(reader(agent), later);
    expect(v2Again).toEqual(v2);
    // v1 is a function of the settings alone: a restarted controller serves the same tag.
    expect(service().renderV1(reader(agent)).etag).toBe(v1.etag);

    must(
      await client.PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: created.id } },
        body: { retention: { keep_last: 6 } },
      }),
    );
    const v1Changed = configs.renderV1(reader(agent));
    const v2Changed = configs.renderV2(reader(agent), later);
    expect(v1Changed.etag).not.toBe(v1.etag);
    expect(v1Changed.document.spec.prune).toEqual({ retention: "6c" });
    expect(v2Changed.etag).not.toBe(v2.etag);
    expect(v2Changed.document.generated_at).toBe(later.toISOString());

    // A secret is part of the document too: rotating it must reach the agent.
    must(
      await client.PATCH("/v1/targets/{target}", {
        params: { path: { target: offsite.id } },
        body: { type: "s3", secret_access_key: "rotated-secret-9Kd" },
      }),
    );
    expect(configs.renderV1(reader(agent)).etag).not.toBe(v1Changed.etag);
    expect(configs.renderV2(reader(agent), later).etag).not.toBe(v2Changed.etag);
  });

  it.each<[string, string | undefined, boolean]>([
    ["the same tag", '"v1-abc"', true],
    ["the weak form of it", 'W/"v1-abc"', true],
    ["a list holding it", '"v2-xyz", W/"v1-abc" , "other"', true],
    ["*", " * ", true],
    ["another tag", '"v1-abd"', false],
    ["a list without it", '"v1-ab", "v1-abcd"', false],
    ["an unquoted tag", "v1-abc", false],
    ["no header", undefined, false],
  ])("If-None-Match with %s matches: %s", (_name, header, matches) => {
    expect(ifNoneMatchMatches(header, '"v1-abc"')).toBe(matches);
  });
});

describe("secrets", () => {
  it("are in the agent's document and in no control-API answer or log line", async () => {
    const agent = await enrolledAgent(client, stores);
    const [offsite, share] = [await s3Target(), await smbTarget()];
    const created = await deployment(agent, [offsite.id, share.id]);

    const documents = JSON.stringify([
      service().renderV1(reader(agent)).document,
      service().renderV2(reader(agent)).document,
    ]);
    for (const secret of [SECRETS.db, SECRETS.s3, SECRETS.smb]) expect(documents).toContain(secret);

    const answers = JSON.stringify([
      await client.GET("/v1/deployments/{deployment}", {
        params: { path: { deployment: created.id } },
      }),
      await client.GET("/v1/targets/{target}", { params: { path: { target: offsite.id } } }),
      await client.GET("/v1/targets/{target}", { params: { path: { target: share.id } } }),
      await client.GET("/v1/deployments"),
      await client.GET("/v1/targets"),
    ]);
    const logs = t.logs.join("\n");
    for (const secret of [SECRETS.db, SECRETS.s3, SECRETS.smb]) {
      expect(answers).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });

  it("of another agent's deployments never reach this agent's document", async () => {
    const mine = await enrolledAgent(client, stores);
    const other = await enrolledAgent(client, stores);
    await deployment(other, [(await s3Target()).id]);
    const document = JSON.stringify(service().renderV2(reader(mine)).document);
    expect(document).not.toContain(SECRETS.db);
    expect(document).not.toContain(SECRETS.s3);
  });
});

/**
 * `getConfig` through the generated router, validating every response against the spec. The
 * controller's agent app and its authentication are wired elsewhere; here a bearer token names
 * the principal directly, so these tests are about this handler's HTTP contract only.
 */
describe("GET /engines/config/{instance}", () => {
  const principals = new Map<string, AgentPrincipal>();
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    const router = createAgentRouter<AgentPrincipal>(
      configHandlers({
        stores,
        jobs: { settings: DEFAULT_JOB_SETTINGS },
        publicUrl: () => base,
        reporting: "here",
      }),
      {
        authenticate: ({ scheme, req }) =>
          scheme === "jwt"
            ? principals.get(req.get("authorization")?.replace(/^Bearer /, "") ?? "")
            : undefined,
        validateResponses: true,
      },
    );
    await router.ready();
    server = http.createServer(express().use(router)).listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function agentWithToken(): Promise<{ agent: AgentRow; token: string }> {
    const agent = await enrolledAgent(client, stores);
    const token = `token-${agent.id}`;
    principals.set(token, {
      kind: "agent",
      agentId: agent.id,
      tenantId: agent.tenant_id,
      agentName: agent.name,
      authMethod: "jwt",
    });
    return { agent, token };
  }

  function get(instance: string, token: string, headers: Record<string, string> = {}) {
    return fetch(`${base}/engines/config/${encodeURIComponent(instance)}`, {
      headers: { authorization: `Bearer ${token}`, ...headers },
    });
  }

  it.each<[string, Record<string, string>, string]>([
    ["no Accept", {}, "application/vnd.stowage.agent-config.v1+json"],
    [
      "the databacker alias",
      { accept: "application/vnd.databack.device-config.v1+json" },
      "application/vnd.databack.device-config.v1+json",
    ],
    ["v2", { accept: V2_MEDIA }, V2_MEDIA],
    [
      "the vendor type without a version",
      { accept: "application/vnd.stowage.agent-config+json" },
      V2_MEDIA,
    ],
  ])("serves %s with a strong ETag, no-store and Vary: Accept", async (_name, headers, type) => {
    const { agent, token } = await agentWithToken();
    await deployment(agent, [(await s3Target()).id]);
    const response = await get(agent.id, token, headers);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain(type);
    expect(response.headers.get("etag")).toMatch(/^"v[12]-[A-Za-z0-9_-]{43}"$/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("vary")).toContain("Accept");
    const body = (await response.json()) as { version: string };
    expect(body.version).toBe(type === V2_MEDIA ? "config.stowage.io/v2" : "config.databack.io/v1");
    expect(JSON.stringify(body)).toContain(SECRETS.s3);
  });

  it("answers 304 without a body while the tag matches, and 200 once the deployment changes", async () => {
    const { agent, token } = await agentWithToken();
    const created = await deployment(agent, [(await fileTarget()).id]);
    for (const accept of ["application/vnd.stowage.agent-config.v1+json", V2_MEDIA]) {
      const first = await get(agent.id, token, { accept });
      const etag = first.headers.get("etag") ?? "";
      await first.arrayBuffer();

      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
        const again = await get(agent.id, token, { accept, "if-none-match": ifNoneMatch });
        expect(again.status).toBe(304);
        expect(again.headers.get("etag")).toBe(etag);
        expect(again.headers.get("cache-control")).toBe("no-store");
        expect(await again.text()).toBe("");
      }
      // The other version's tag is another representation's.
      const other = await get(agent.id, token, {
        accept: accept === V2_MEDIA ? "application/vnd.stowage.agent-config.v1+json" : V2_MEDIA,
        "if-none-match": etag,
      });
      expect(other.status).toBe(200);
      await other.arrayBuffer();
    }

    const before = await get(agent.id, token);
    const etag = before.headers.get("etag") ?? "";
    await before.arrayBuffer();
    must(
      await client.PATCH("/v1/deployments/{deployment}", {
        params: { path: { deployment: created.id } },
        body: { compression: "none" },
      }),
    );
    const after = await get(agent.id, token, { "if-none-match": etag });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(etag);
    expect(((await after.json()) as { spec: { dump: unknown } }).spec.dump).toMatchObject({
      compression: "none",
    });
  });

  it("answers 406 with the v2 suggestion when v1 cannot say it, and v2 to the same agent", async () => {
    const { agent, token } = await agentWithToken();
    await deployment(agent, [(await fileTarget()).id], {
      schedules: [{ cron: "15 1 * * *", time_zone: "Europe/Berlin" }],
    });
    const refused = await get(agent.id, token);
    expect(refused.status).toBe(406);
    const body = (await refused.json()) as {
      schema: string;
      error: { code: string; suggestion?: { human: string }; details?: { path: string }[] };
    };
    expect(body.schema).toBe("stowage.v1");
    expect(body.error.code).toBe("request.not_acceptable");
    expect(body.error.suggestion?.human).toContain(V2_MEDIA);
    expect(body.error.details?.[0].path).toMatch(/\/schedules\/0\/time_zone$/);
    const v2 = await get(agent.id, token, { accept: V2_MEDIA });
    expect(v2.status).toBe(200);
    await v2.arrayBuffer();
  });

  it("answers 404 for another agent's instance, without its document", async () => {
    const mine = await agentWithToken();
    const other = await agentWithToken();
    await deployment(other.agent, [(await s3Target()).id]);
    const response = await get(other.agent.id, mine.token);
    expect(response.status).toBe(404);
    const text = await response.text();
    expect(text).toContain("resource.not_found");
    expect(text).not.toContain(SECRETS.s3);
  });
});
