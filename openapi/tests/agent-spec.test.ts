/**
 * Contract tests for openapi/agent.yaml: its schemas compile, its examples are valid, its v1
 * `Config` accepts what databacker's reference schema accepts (the fixture documents) and
 * rejects broken documents, and the protocol-level choices of DESIGN section 5 are in place.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { bundle, createConfig } from "@redocly/openapi-core";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { describeWithShared, sharedDir } from "../../scripts/test-support/shared-dir";

const SPEC_PATH = path.resolve(__dirname, "..", "agent.yaml");
const SPEC_ID = "https://stowage.invalid/openapi/agent.yaml";
const REFERENCE_ID = "https://stowage.invalid/reference/databacker-api/schemas.yaml";
const CONFIG_V1 = "#/components/schemas/ConfigV1";
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw new Error(`${what} is not an object`);
  return value;
}

function escapeSegment(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** A JSON pointer usable as a URI fragment (each segment escaped, then percent-encoded). */
function fragment(segments: readonly string[]): string {
  return segments.map((s) => `/${encodeURIComponent(escapeSegment(s))}`).join("");
}

/** Follows a local `#/...` reference inside `root`; external references answer undefined. */
function resolveLocal(root: unknown, ref: string): { node: unknown; at: string[] } | undefined {
  if (!ref.startsWith("#/")) return undefined;
  const at = ref
    .slice(2)
    .split("/")
    .map((s) => decodeURIComponent(s).replace(/~1/g, "/").replace(/~0/g, "~"));
  let node: unknown = root;
  for (const segment of at) {
    if (!isObject(node)) return undefined;
    node = node[segment];
  }
  return node === undefined ? undefined : { node, at };
}

/** The node itself, or the one its local `$ref` names, with its location. */
function deref(
  root: unknown,
  node: unknown,
  at: string[],
): { node: JsonObject; at: string[] } | undefined {
  if (!isObject(node)) return undefined;
  if (typeof node.$ref !== "string") return { node, at };
  const target = resolveLocal(root, node.$ref);
  if (target === undefined) return undefined; // shared components of common/errors.yaml
  return deref(root, target.node, target.at);
}

interface ExampleCase {
  /** Where the example value is written in agent.yaml. */
  where: string;
  /** The schema it must satisfy, as a pointer into the bundled document. */
  schema: string;
  value: unknown;
  /** The media type's schema is a `$ref` to this (for picking out v1 configs). */
  schemaRef?: string;
}

/**
 * Every example written in agent.yaml: media type `example`/`examples` (following local
 * `$ref`s to `components/examples`), parameter and header examples, schema `examples`, and each
 * line of an NDJSON example against its `x-stowage-item-schema`. Examples of the shared
 * `common/errors.yaml` components belong to that file and are not collected here.
 */
function collectExamples(raw: JsonObject): ExampleCase[] {
  const cases = new Map<string, ExampleCase>();
  const add = (c: ExampleCase): void => {
    cases.set(`${c.where} -> ${c.schema}`, c);
  };

  const fromValues = (
    owner: JsonObject,
    at: string[],
    schemaAt: string[],
    schemaRef: string | undefined,
    itemSchemaAt: string[] | undefined,
  ): void => {
    const values: { where: string[]; value: unknown }[] = [];
    if ("example" in owner) values.push({ where: [...at, "example"], value: owner.example });
    if (isObject(owner.examples)) {
      for (const [name, entry] of Object.entries(owner.examples)) {
        const example = deref(raw, entry, [...at, "examples", name]);
        if (example !== undefined && "value" in example.node) {
          values.push({ where: [...example.at, "value"], value: example.node.value });
        }
      }
    }
    for (const { where, value } of values) {
      add({ where: fragment(where), schema: fragment(schemaAt), value, schemaRef });
      if (itemSchemaAt !== undefined && typeof value === "string") {
        value
          .split("\n")
          .filter((line) => line.trim() !== "")
          .forEach((line, index) => {
            add({
              where: `${fragment(where)} line ${index + 1}`,
              schema: fragment(itemSchemaAt),
              value: JSON.parse(line) as unknown,
            });
          });
      }
    }
  };

  const fromContent = (content: unknown, at: string[]): void => {
    if (!isObject(content)) return;
    for (const [mediaType, media] of Object.entries(content)) {
      if (!isObject(media) || !isObject(media.schema)) continue;
      const mediaAt = [...at, mediaType];
      const schemaRef = typeof media.schema.$ref === "string" ? media.schema.$ref : undefined;
      const item = media["x-stowage-item-schema"];
      const itemSchemaAt = isObject(item)
        ? typeof item.$ref === "string"
          ? resolveLocal(raw, item.$ref)?.at
          : [...mediaAt, "x-stowage-item-schema"]
        : undefined;
      fromValues(media, mediaAt, [...mediaAt, "schema"], schemaRef, itemSchemaAt);
    }
  };

  const fromParameterOrHeader = (entry: unknown, at: string[]): void => {
    const resolved = deref(raw, entry, at);
    if (resolved === undefined || !isObject(resolved.node.schema)) return;
    fromValues(resolved.node, resolved.at, [...resolved.at, "schema"], undefined, undefined);
  };

  const fromResponse = (entry: unknown, at: string[]): void => {
    const resolved = deref(raw, entry, at);
    if (resolved === undefined) return;
    fromContent(resolved.node.content, [...resolved.at, "content"]);
    if (isObject(resolved.node.headers)) {
      for (const [name, header] of Object.entries(resolved.node.headers)) {
        fromParameterOrHeader(header, [...resolved.at, "headers", name]);
      }
    }
  };

  const fromSchema = (schema: unknown, at: string[]): void => {
    if (!isObject(schema)) return;
    if (Array.isArray(schema.examples)) {
      schema.examples.forEach((value, index) => {
        add({ where: fragment([...at, "examples", String(index)]), schema: fragment(at), value });
      });
    }
    for (const key of ["properties", "patternProperties"]) {
      const children = schema[key];
      if (isObject(children)) {
        for (const [name, child] of Object.entries(children)) fromSchema(child, [...at, key, name]);
      }
    }
    for (const key of ["items", "additionalProperties"]) fromSchema(schema[key], [...at, key]);
    for (const key of ["allOf", "oneOf", "anyOf"]) {
      const branches = schema[key];
      if (Array.isArray(branches))
        branches.forEach((b, i) => fromSchema(b, [...at, key, String(i)]));
    }
  };

  const paths = objectAt(raw.paths, "paths");
  for (const [route, pathItem] of Object.entries(paths)) {
    if (!isObject(pathItem)) continue;
    const itemAt = ["paths", route];
    if (Array.isArray(pathItem.parameters)) {
      pathItem.parameters.forEach((p, i) =>
        fromParameterOrHeader(p, [...itemAt, "parameters", String(i)]),
      );
    }
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!isObject(operation)) continue;
      const opAt = [...itemAt, method];
      if (Array.isArray(operation.parameters)) {
        operation.parameters.forEach((p, i) =>
          fromParameterOrHeader(p, [...opAt, "parameters", String(i)]),
        );
      }
      const body = deref(raw, operation.requestBody, [...opAt, "requestBody"]);
      if (body !== undefined) fromContent(body.node.content, [...body.at, "content"]);
      if (isObject(operation.responses)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          fromResponse(response, [...opAt, "responses", status]);
        }
      }
    }
  }

  const components = objectAt(raw.components, "components");
  for (const [kind, visit] of [
    ["parameters", fromParameterOrHeader],
    ["headers", fromParameterOrHeader],
    ["responses", fromResponse],
  ] as const) {
    const entries = components[kind];
    if (isObject(entries)) {
      for (const [name, entry] of Object.entries(entries)) visit(entry, ["components", kind, name]);
    }
  }
  const schemas = objectAt(components.schemas, "components.schemas");
  for (const [name, schema] of Object.entries(schemas)) {
    fromSchema(schema, ["components", "schemas", name]);
  }
  return [...cases.values()];
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`).join("; ");
}

function loadYaml(file: string): unknown {
  return parse(readFileSync(file, "utf8")) as unknown;
}

let raw: JsonObject;
let bundled: JsonObject;
let ajv: Ajv2020;
const compiled = new Map<string, ValidateFunction>();

/** A validator for the schema at `pointer` (a URI fragment) of the bundled spec. */
function validatorAt(pointer: string): ValidateFunction {
  let validate = compiled.get(pointer);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `${SPEC_ID}#${pointer}` });
    compiled.set(pointer, validate);
  }
  return validate;
}

function configV1(): ValidateFunction {
  return validatorAt("/components/schemas/ConfigV1");
}

beforeAll(async () => {
  raw = objectAt(loadYaml(SPEC_PATH), "agent.yaml");
  const result = await bundle({ ref: SPEC_PATH, config: await createConfig({}) });
  const parsed: unknown = result.bundle.parsed;
  bundled = objectAt(parsed, "the bundled agent.yaml");
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(bundled, SPEC_ID);
});

function operations(doc: JsonObject): { route: string; method: string; op: JsonObject }[] {
  const found: { route: string; method: string; op: JsonObject }[] = [];
  for (const [route, pathItem] of Object.entries(objectAt(doc.paths, "paths"))) {
    if (!isObject(pathItem)) continue;
    for (const method of METHODS) {
      const op = pathItem[method];
      if (isObject(op)) found.push({ route, method, op });
    }
  }
  return found;
}

describe("agent.yaml", () => {
  it("is OpenAPI 3.1.0 with the stowage error envelope", () => {
    expect(bundled.openapi).toBe("3.1.0");
    expect(bundled["x-stowage-error"]).toEqual({ schema: "ErrorEnvelope", style: "envelope" });
    expect(bundled.security).toEqual([{ jwt: [] }]);
    const schemes = objectAt(objectAt(bundled.components, "components").securitySchemes, "schemes");
    expect(schemes.jwt).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    expect(schemes.mtls).toMatchObject({ type: "mutualTLS" });
  });

  it("has every route of DESIGN section 5, with its security", () => {
    const jwtOrMtls = [{ jwt: [] }, { mtls: [] }];
    const expected: Record<string, { id: string; tag: string; security?: unknown }> = {
      "get /engines": { id: "getDiscovery", tag: "discovery", security: [] },
      "get /engines/jwks.json": { id: "getJwks", tag: "identity", security: [] },
      "post /engines/enroll": { id: "enrollAgent", tag: "identity", security: [] },
      "post /engines/oauth/token": { id: "createAccessToken", tag: "identity", security: [] },
      "get /engines/config/{instance}": { id: "getConfig", tag: "config", security: jwtOrMtls },
      "get /engines/telemetry/{instance}/log": {
        id: "getLogCapability",
        tag: "telemetry",
        security: jwtOrMtls,
      },
      "post /engines/telemetry/{instance}/log": {
        id: "postLog",
        tag: "telemetry",
        security: jwtOrMtls,
      },
      "get /engines/telemetry/{instance}/traces": {
        id: "getTraceCapability",
        tag: "telemetry",
        security: jwtOrMtls,
      },
      "post /engines/telemetry/{instance}/traces": {
        id: "postTraces",
        tag: "telemetry",
        security: jwtOrMtls,
      },
      "post /engines/telemetry/{instance}/events": {
        id: "postEvents",
        tag: "telemetry",
        security: jwtOrMtls,
      },
      "post /engines/jobs/{instance}/claim": { id: "claimJob", tag: "jobs" },
      "post /engines/jobs/{instance}/{job}/progress": { id: "reportJobProgress", tag: "jobs" },
      "post /engines/jobs/{instance}/{job}/complete": { id: "completeJob", tag: "jobs" },
    };
    const actual = Object.fromEntries(
      operations(bundled).map(({ route, method, op }) => [`${method} ${route}`, op]),
    );
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, want] of Object.entries(expected)) {
      const op = objectAt(actual[key], key);
      expect({ key, id: op.operationId, tags: op.tags }).toEqual({
        key,
        id: want.id,
        tags: [want.tag],
      });
      expect({ key, security: op.security }).toEqual({ key, security: want.security });
      expect({ key, verb: op["x-stowage-verb"] }).toEqual({ key, verb: undefined });
    }
  });

  it("documents the shared error responses each operation can meet", () => {
    const problems: string[] = [];
    for (const { route, method, op } of operations(bundled)) {
      const responses = objectAt(op.responses, `${method} ${route} responses`);
      const has = (status: string): boolean => status in responses;
      const need = (status: string, why: boolean): void => {
        if (why && !has(status)) problems.push(`${method} ${route}: no ${status}`);
      };
      const secured = !(Array.isArray(op.security) && op.security.length === 0);
      const hasBody = op.requestBody !== undefined;
      const hasResponseBody = Object.entries(responses).some(
        ([status, r]) => status.startsWith("2") && isObject(r) && r.content !== undefined,
      );
      need("401", secured);
      need("404", route.includes("{instance}"));
      need("410", true);
      need("500", true);
      need("400", true);
      need("406", hasResponseBody);
      need("413", hasBody);
      need("415", hasBody);
    }
    expect(problems).toEqual([]);
  });

  it("serves the config in versioned media types with ETag, Vary and no-store", () => {
    const op = objectAt(
      objectAt(objectAt(bundled.paths, "paths")["/engines/config/{instance}"], "path").get,
      "getConfig",
    );
    expect(op["x-stowage-media"]).toEqual({
      default: "application/vnd.stowage.agent-config.v1+json",
      aliases: {
        "application/vnd.databack.device-config.v1+json":
          "application/vnd.stowage.agent-config.v1+json",
        "application/json": "application/vnd.stowage.agent-config.v1+json",
      },
    });
    const responses = objectAt(op.responses, "responses");
    const ok = objectAt(responses["200"], "200");
    const content = objectAt(ok.content, "200 content");
    const schemaOf = (type: string): unknown => objectAt(content[type], type).schema;
    expect(schemaOf("application/vnd.stowage.agent-config.v1+json")).toEqual({ $ref: CONFIG_V1 });
    expect(schemaOf("application/vnd.databack.device-config.v1+json")).toEqual({ $ref: CONFIG_V1 });
    expect(schemaOf("application/json")).toEqual({ $ref: CONFIG_V1 });
    expect(schemaOf("application/vnd.stowage.agent-config.v2+json")).toEqual({
      $ref: "#/components/schemas/ConfigV2",
    });
    for (const status of ["200", "304"]) {
      const headers = objectAt(objectAt(responses[status], status).headers, `${status} headers`);
      expect(Object.keys(headers).sort()).toEqual(["Cache-Control", "ETag", "Vary"]);
    }
    expect(responses).toHaveProperty("406");
  });

  it("declares NDJSON log bodies as binary with an item schema", () => {
    const op = objectAt(
      objectAt(objectAt(bundled.paths, "paths")["/engines/telemetry/{instance}/log"], "path").post,
      "postLog",
    );
    const content = objectAt(objectAt(op.requestBody, "requestBody").content, "content");
    expect(content["application/x-ndjson"]).toMatchObject({
      schema: { type: "string", format: "binary" },
      "x-stowage-item-schema": { $ref: "#/components/schemas/Log" },
    });
    expect(objectAt(content["application/json"], "json").schema).toEqual({
      $ref: "#/components/schemas/Log",
    });
  });

  it("models discriminated unions as oneOf branches that fix the property with const", () => {
    const schemas = objectAt(objectAt(bundled.components, "components").schemas, "schemas");
    const problems: string[] = [];
    let unions = 0;
    for (const [name, schema] of Object.entries(schemas)) {
      if (!isObject(schema) || !isObject(schema.discriminator)) continue;
      unions += 1;
      const { propertyName, mapping } = schema.discriminator;
      if (typeof propertyName !== "string" || !isObject(mapping)) {
        problems.push(`${name}: discriminator needs propertyName and mapping`);
        continue;
      }
      const branches = Array.isArray(schema.oneOf) ? schema.oneOf : [];
      const refs = branches.map((b) => (isObject(b) ? b.$ref : undefined));
      if (JSON.stringify([...refs].sort()) !== JSON.stringify(Object.values(mapping).sort())) {
        problems.push(`${name}: mapping and oneOf name different schemas`);
      }
      for (const [value, ref] of Object.entries(mapping)) {
        const branch = typeof ref === "string" ? resolveLocal(bundled, ref)?.node : undefined;
        if (!isObject(branch)) {
          problems.push(`${name}: ${value} -> ${String(ref)} does not resolve`);
          continue;
        }
        const required = Array.isArray(branch.required) ? branch.required : [];
        const property = isObject(branch.properties) ? branch.properties[propertyName] : undefined;
        if (!required.includes(propertyName)) problems.push(`${name}.${value}: not required`);
        if (!isObject(property) || property.const !== value) {
          problems.push(`${name}.${value}: ${propertyName} is not const ${value}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(unions).toBeGreaterThanOrEqual(6);
  });

  it("never closes a v1 schema with additionalProperties: false", () => {
    const seen = new Set<string>();
    const closed: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (Array.isArray(node)) {
        node.forEach((child, i) => visit(child, `${at}/${i}`));
        return;
      }
      if (!isObject(node)) return;
      if (typeof node.$ref === "string") {
        if (seen.has(node.$ref)) return;
        seen.add(node.$ref);
        visit(resolveLocal(bundled, node.$ref)?.node, node.$ref);
      }
      if (node.additionalProperties === false) closed.push(at);
      for (const [key, child] of Object.entries(node)) {
        if (key !== "$ref") visit(child, `${at}/${key}`);
      }
    };
    visit({ $ref: CONFIG_V1 }, "ConfigV1");
    expect(seen.size).toBeGreaterThan(20);
    expect(closed).toEqual([]);
  });

  it("gives every JSON request body and success response an example", () => {
    const missing: string[] = [];
    for (const { route, method, op } of operations(raw)) {
      const bodies: [string, unknown][] = [];
      if (isObject(op.requestBody)) bodies.push(["request", op.requestBody.content]);
      for (const [status, response] of Object.entries(objectAt(op.responses, "responses"))) {
        if (status.startsWith("2") && isObject(response)) bodies.push([status, response.content]);
      }
      for (const [what, content] of bodies) {
        if (!isObject(content)) continue;
        for (const [type, media] of Object.entries(content)) {
          if (!/(^application\/json$)|(\+json$)/.test(type) || !isObject(media)) continue;
          if (!("example" in media) && !isObject(media.examples)) {
            missing.push(`${method} ${route} ${what} ${type}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("has examples that validate against their own schemas", () => {
    const cases = collectExamples(raw);
    expect(cases.length).toBeGreaterThan(40);
    const failures = cases.flatMap((c) => {
      const validate = validatorAt(c.schema);
      return validate(c.value)
        ? []
        : [`${c.where} (schema ${c.schema}): ${describeErrors(validate.errors)}`];
    });
    expect(failures).toEqual([]);
  });

  it("rejects broken v1 documents", () => {
    const valid = {
      version: "config.databack.io/v1",
      kind: "local",
      metadata: { name: "orders-db" },
      spec: {
        database: { server: "db.internal", port: 3306 },
        dump: { schedule: { cron: "15 1 * * *" }, targets: ["primary"] },
        targets: { primary: { type: "file", url: "file:///var/backups/orders" } },
      },
    };
    const validate = configV1();
    expect({ valid: validate(valid), errors: validate.errors ?? null }).toEqual({
      valid: true,
      errors: null,
    });
    const withoutMetadata: JsonObject = { ...valid };
    delete withoutMetadata.metadata;
    const broken: Record<string, unknown> = {
      "missing metadata": withoutMetadata,
      "missing spec": { version: valid.version, kind: "local", metadata: valid.metadata },
      "unknown kind": { ...valid, kind: "cloud" },
      "unknown version": { ...valid, version: "config.databack.io/v2" },
      "target without url": {
        ...valid,
        spec: { ...valid.spec, targets: { primary: { type: "file" } } },
      },
      "target of unknown type": {
        ...valid,
        spec: { ...valid.spec, targets: { primary: { type: "ftp", url: "ftp://host/x" } } },
      },
      "port as a string": {
        ...valid,
        spec: { ...valid.spec, database: { server: "db.internal", port: "3306" } },
      },
    };
    const accepted = Object.entries(broken)
      .filter(([, doc]) => validate(doc))
      .map(([what]) => what);
    expect(accepted).toEqual([]);
  });
});

describeWithShared("agent.yaml against the databacker reference", () => {
  const configsDir = (): string => path.join(sharedDir, "reference", "databacker-configs");
  let reference: ValidateFunction;

  beforeAll(() => {
    const referenceDoc = loadYaml(
      path.join(sharedDir, "reference", "databacker-api", "schemas.yaml"),
    );
    // The reference declares `discriminator` without `oneOf`, which Ajv cannot honour: ignore it.
    const referenceAjv = new Ajv({ strict: false, discriminator: false, allErrors: true });
    referenceAjv.addSchema(objectAt(referenceDoc, "schemas.yaml"), REFERENCE_ID);
    reference = referenceAjv.compile({ $ref: `${REFERENCE_ID}#/components/schemas/Config` });
  });

  function fixtures(): { file: string; doc: unknown }[] {
    const files = readdirSync(configsDir())
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    return files.map((file) => ({ file, doc: loadYaml(path.join(configsDir(), file)) }));
  }

  it("accepts every fixture document as a v1 Config", () => {
    const docs = fixtures();
    expect(docs.map((d) => d.file)).toEqual(
      expect.arrayContaining(["encrypted.yaml", "local-full.yaml", "remote.yaml"]),
    );
    const validate = configV1();
    const failures = docs.flatMap(({ file, doc }) =>
      validate(doc) ? [] : [`${file}: ${describeErrors(validate.errors)}`],
    );
    expect(failures).toEqual([]);
  });

  it("reads the fixtures as the reference schema does", () => {
    const failures = fixtures().flatMap(({ file, doc }) =>
      reference(doc) ? [] : [`${file}: ${describeErrors(reference.errors)}`],
    );
    expect(failures).toEqual([]);
  });

  it("has v1 config examples that the reference schema accepts", () => {
    const v1 = collectExamples(raw).filter((c) => c.schemaRef === CONFIG_V1);
    const distinct = new Map(v1.map((c) => [c.where, c.value]));
    expect(distinct.size).toBeGreaterThanOrEqual(2);
    const failures = [...distinct].flatMap(([where, value]) =>
      reference(value) ? [] : [`${where}: ${describeErrors(reference.errors)}`],
    );
    expect(failures).toEqual([]);
  });

  it("rejects, like the reference, documents without metadata or with an unknown kind", () => {
    const local = fixtures().find((d) => d.file === "local-full.yaml");
    const doc = objectAt(local?.doc, "local-full.yaml");
    const withoutMetadata: JsonObject = { ...doc };
    delete withoutMetadata.metadata;
    const validate = configV1();
    for (const broken of [withoutMetadata, { ...doc, kind: "cloud" }]) {
      expect({ ours: validate(broken), reference: reference(broken) }).toEqual({
        ours: false,
        reference: false,
      });
    }
  });
});
