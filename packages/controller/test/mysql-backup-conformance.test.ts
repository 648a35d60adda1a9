/**
 * The controller as a real databacker/mysql-backup instance sees it. The test does what
 * mysql-backup does and nothing more: it reads its `kind: remote` bootstrap document, derives
 * the Ed25519 key from the base64 `credentials` seed, presents a self-signed certificate of that
 * key over mTLS, trusts the controller only by the pinned `sha256:` fingerprint (with the host in
 * the SAN), and fetches its config with no `Authorization` and no `Accept`; then it exports its run's
 * OTLP spans to `spec.telemetry.url` with the same identity, and the run shows in the catalog.
 */
import { generateKeyPairSync, randomUUID, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import Ajv from "ajv";
import { fetch, type Agent } from "undici";
import { parse, stringify } from "yaml";
import { sharedAvailable, sharedDir } from "../../../scripts/test-support/shared-dir";
import { enrollTestAgent } from "./agent-fixture";
import { must } from "./pull-fixture";
import { startTestController, type TestController } from "./test-controller";
import {
  ed25519KeyFromSeed,
  makeServerCertificate,
  pinnedDispatcher,
  selfSignedClientCertificate,
} from "./tls-fixture";

interface RemoteBootstrap {
  version: string;
  kind: "remote";
  spec: { url: string; credentials: string; certificates: string[] };
}

let t: TestController;
let dir: string;
let operatorDispatcher: Agent;
let bootstrapFile: string;
let instance: string;
const DB_PASSWORD = "orders-db-password-7f3a";

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "stowage-mysql-backup-"));
  const server = makeServerCertificate(dir);
  operatorDispatcher = pinnedDispatcher({ pins: [fingerprintOf(server.certPem)] });
  t = await startTestController(
    { tlsCert: server.certFile, tlsKey: server.keyFile },
    { dispatcher: operatorDispatcher },
  );
  const operator = t.client();
  // The operator's side: an agent record, a MySQL deployment it runs, and an issued identity.
  const agent = await enrollTestAgent(t, operator, { agentName: "orders-mysql-backup" });
  instance = agent.instance;
  const target = must(
    await operator.POST("/v1/targets", {
      body: { type: "file", name: "orders-disk", url: "file:///var/backups/orders" },
    }),
  );
  must(
    await operator.POST("/v1/deployments", {
      body: {
        name: "orders-db",
        kind: "mysql",
        connection: { host: "db.internal", port: 3306, username: "backup", password: DB_PASSWORD },
        schedules: [{ cron: "15 1 * * *" }],
        driver: { type: "pull", agent_id: instance },
        target_ids: [target.id],
      },
    }),
  );
  const issued = must(
    await operator.POST("/v1/agents/{agent}/identity", {
      params: { path: { agent: instance } },
      body: {},
    }),
  );
  // Handed to mysql-backup as a file: it is all the agent knows.
  bootstrapFile = path.join(dir, "mysql-backup.yaml");
  writeFileSync(bootstrapFile, stringify(issued.bootstrap), { mode: 0o600 });
}, 60_000);
afterAll(async () => {
  await t.stop();
  await operatorDispatcher.close();
  rmSync(dir, { recursive: true, force: true });
});

function fingerprintOf(pem: string): string {
  return `sha256:${new X509Certificate(pem).fingerprint256.replace(/:/g, "").toLowerCase()}`;
}

function asMysqlBackup(): { bootstrap: RemoteBootstrap; dispatcher: Agent } {
  const bootstrap = parse(readFileSync(bootstrapFile, "utf8")) as RemoteBootstrap;
  const key = ed25519KeyFromSeed(Buffer.from(bootstrap.spec.credentials, "base64"));
  const client = selfSignedClientCertificate(dir, key, "mysql-backup");
  return {
    bootstrap,
    dispatcher: pinnedDispatcher({ pins: bootstrap.spec.certificates, client }),
  };
}

it("serves the v1 config over mTLS to a request with no Authorization and no Accept", async () => {
  const { bootstrap, dispatcher } = asMysqlBackup();
  expect(bootstrap).toMatchObject({ version: "config.databack.io/v1", kind: "remote" });
  const response = await fetch(bootstrap.spec.url, {
    // undici's fetch sends `accept: */*` unless told otherwise; mysql-backup's Go client sends none.
    headers: { accept: "" },
    dispatcher,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(
    /^application\/vnd\.stowage\.agent-config\.v1\+json/,
  );
  expect(response.headers.get("cache-control")).toBe("no-store");
  const config = (await response.json()) as {
    version: string;
    kind: string;
    spec: {
      database?: { credentials?: { password?: string } };
      telemetry?: { url?: string; credentials?: string; certificates?: string[] };
    };
  };
  expect(config).toMatchObject({ version: "config.databack.io/v1", kind: "local" });
  // Its own database password: the one secret this document exists to carry.
  expect(config.spec.database?.credentials?.password).toBe(DB_PASSWORD);
  // Traces go back here with the same identity and the same pin.
  expect(config.spec.telemetry).toEqual({
    url: `${t.url}/engines/telemetry/${instance}/traces`,
    credentials: bootstrap.spec.credentials,
    certificates: bootstrap.spec.certificates,
  });
  if (sharedAvailable("the databacker reference schema check")) {
    const reference = parse(
      readFileSync(path.join(sharedDir, "reference", "databacker-api", "schemas.yaml"), "utf8"),
    ) as object;
    const id = "https://stowage.invalid/reference/databacker-api/schemas.yaml";
    // The reference declares `discriminator` without `oneOf`, which Ajv cannot honour.
    const ajv = new Ajv({ strict: false, discriminator: false, allErrors: true });
    ajv.addSchema(reference, id);
    const validate = ajv.compile({ $ref: `${id}#/components/schemas/Config` });
    expect({ valid: validate(config), errors: validate.errors ?? null }).toEqual({
      valid: true,
      errors: null,
    });
  }
  await dispatcher.close();
});

it("answers 401 to a client certificate whose key was never enrolled or issued", async () => {
  const { bootstrap } = asMysqlBackup();
  const stranger = selfSignedClientCertificate(
    dir,
    generateKeyPairSync("ed25519").privateKey,
    "stranger",
  );
  const dispatcher = pinnedDispatcher({ pins: bootstrap.spec.certificates, client: stranger });
  const response = await fetch(bootstrap.spec.url, { dispatcher });
  expect(response.status).toBe(401);
  expect(await response.json()).toMatchObject({
    schema: "stowage.v1",
    error: { code: "auth.invalid_token" },
  });
  await dispatcher.close();
});

it("refuses a server whose certificate is not the pinned one", async () => {
  const { bootstrap } = asMysqlBackup();
  const dispatcher = pinnedDispatcher({ pins: [`sha256:${"0".repeat(64)}`] });
  await expect(fetch(bootstrap.spec.url, { dispatcher })).rejects.toThrow();
  await dispatcher.close();
});

it("takes its OTLP traces over the same identity and puts the run in the catalog", async () => {
  const { bootstrap, dispatcher } = asMysqlBackup();
  const configResponse = await fetch(bootstrap.spec.url, { dispatcher });
  const config = (await configResponse.json()) as { spec: { telemetry: { url: string } } };
  // The spans a mysql-backup run makes, by the databacker convention, through the OTel SDK.
  const spans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const tracer = provider.getTracer("github.com/databacker/mysql-backup");
  const runId = randomUUID();
  const run = tracer.startSpan("run", {
    attributes: { "backup.run_id": runId, "backup.phase": "run" },
  });
  const parent = trace.setSpan(ROOT_CONTEXT, run);
  for (const [phase, bytes] of [
    ["dump", 9000],
    ["upload", 4321],
  ] as const) {
    const span = tracer.startSpan(
      phase,
      {
        attributes: {
          "backup.run_id": runId,
          "backup.phase": phase,
          "backup.status": "ok",
          "backup.bytes": bytes,
          ...(phase === "upload"
            ? {
                "backup.target.name": "orders-disk",
                "backup.target.url": "file:///var/backups/orders",
              }
            : {}),
        },
      },
      parent,
    );
    span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  }
  run.setAttributes({ "backup.phase": "complete", "backup.status": "ok" });
  run.setStatus({ code: SpanStatusCode.OK });
  run.end();
  await provider.forceFlush();
  // OTLP/HTTP with the SDK's own protobuf encoding, over the pinned mTLS connection, no token.
  const exported = await fetch(config.spec.telemetry.url, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: ProtobufTraceSerializer.serializeRequest(spans.getFinishedSpans()),
    dispatcher,
  });
  expect(exported.status).toBe(200);
  await exported.arrayBuffer();
  const backups = must(
    await t.client().GET("/v1/deployments/{deployment}/backups", {
      params: { path: { deployment: "orders-db" }, query: { limit: 1000 } },
    }),
  );
  expect(backups.items.find((backup) => backup.metadata.run === runId)).toMatchObject({
    state: "COMPLETED",
    sizes: { stored_bytes: 4321 },
  });
  await dispatcher.close();
});

it("answers 401 at once after the agent is revoked", async () => {
  const { bootstrap, dispatcher } = asMysqlBackup();
  const before = await fetch(bootstrap.spec.url, { dispatcher });
  expect(before.status).toBe(200);
  await before.arrayBuffer();
  const revoked = await t.client().DELETE("/v1/agents/{agent}", {
    params: { path: { agent: instance } },
  });
  expect(revoked.response.ok).toBe(true);
  const after = await fetch(bootstrap.spec.url, { dispatcher });
  expect(after.status).toBe(401);
  await dispatcher.close();
});
