import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import type { JsonObject } from "../src/load/openapi-document";
import { runCodegen } from "./run-codegen";

const git = promisify(execFile);
const BASE = path.join(__dirname, "fixtures", "diff", "base-api.yaml");

interface JsonReport {
  breaking: boolean;
  specs: {
    name: string;
    note?: string;
    summary: { breaking: number; nonBreaking: number; deprecation: number };
    changes: { kind: string; rule: string; pointer: string; operation: { operationId?: string } }[];
    types?: {
      operationId: string;
      status: string;
      added: { member: string; type: string }[];
      removed: { member: string; type: string }[];
      changed: { member: string; before: string; after: string }[];
    }[];
  }[];
}

describe("stowage-codegen diff", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "stowage-diff-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The base fixture with `edit` applied, written to `name` in the temp folder. */
  async function edited(name: string, edit: (document: JsonObject) => void): Promise<string> {
    const document = parse(await readFile(BASE, "utf8")) as JsonObject;
    edit(document);
    const file = path.join(dir, name);
    await writeFile(file, stringify(document));
    return file;
  }

  const removeLabel = (document: JsonObject) => {
    const item = (document.components as JsonObject).schemas as JsonObject;
    delete ((item.Item as JsonObject).properties as JsonObject).label;
  };

  it("reports a breaking change with its pointer, operation and reason, and exits 1", async () => {
    const head = await edited("label-removed.yaml", removeLabel);
    const result = await runCodegen(["diff", BASE, head, "--no-color"], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("2 breaking, 0 non-breaking, 0 deprecations");
    expect(result.stdout).toContain("listItems (GET /v1/items)");
    expect(result.stdout).toMatch(
      /breaking +response 200 application\/json: response property `Item.label` removed/,
    );
    expect(result.stdout).toContain("/components/schemas/Item/properties/label");
    expect(result.stdout).toContain('- responses.201.content["application/json"].label?: string');
  });

  it("exits 0 on a breaking change with --allow-breaking", async () => {
    const head = await edited("label-removed.yaml", removeLabel);
    expect((await runCodegen(["diff", BASE, head, "--allow-breaking"], dir)).code).toBe(0);
  });

  it("writes JSON with every change and the generated type changes per operation", async () => {
    const head = await edited("two-changes.yaml", (document) => {
      removeLabel(document);
      const getItem = ((document.paths as JsonObject)["/v1/items/{item}"] as JsonObject)
        .get as JsonObject;
      getItem.deprecated = true;
    });
    const result = await runCodegen(["diff", BASE, head, "--format", "json"], dir);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.breaking).toBe(true);
    const [spec] = report.specs;
    expect(spec.summary).toEqual({ breaking: 2, nonBreaking: 0, deprecation: 1 });
    expect(
      spec.changes.map(({ kind, rule, pointer, operation }) => [
        kind,
        rule,
        pointer,
        operation.operationId,
      ]),
    ).toEqual([
      ["breaking", "property.removed", "/components/schemas/Item/properties/label", "listItems"],
      ["breaking", "property.removed", "/components/schemas/Item/properties/label", "createItem"],
      ["deprecation", "operation.deprecated", "/paths/~1v1~1items~1{item}/get", "getItem"],
    ]);
    const createItem = spec.types?.find((types) => types.operationId === "createItem");
    expect(createItem?.removed).toEqual([
      { member: 'responses.201.content["application/json"].label', type: "?: string" },
    ]);
    expect(createItem?.added).toEqual([]);
    // Deprecation is a JSDoc tag in the generated types, not a member: no type change for getItem.
    expect(spec.types?.map((types) => types.operationId).sort()).toEqual([
      "createItem",
      "listItems",
    ]);
  });

  it("writes Markdown for a pull-request comment", async () => {
    const head = await edited("label-removed.yaml", removeLabel);
    const result = await runCodegen(["diff", BASE, head, "--format", "markdown"], dir);
    expect(result.stdout).toContain("### ❌ label-removed");
    expect(result.stdout).toContain("| kind | operation | change | pointer |");
    expect(result.stdout).toContain(
      "| **breaking** | listItems (GET /v1/items) | response 200 application/json: response property `Item.label` removed | `/components/schemas/Item/properties/label` |",
    );
    expect(result.stdout).toContain(
      "<details><summary>Generated types: 2 operations changed</summary>",
    );
    expect(result.stdout).toContain("```diff");
  });

  it("passes a breaking change shipped as a new media type version", async () => {
    const head = await edited("new-version.yaml", (document) => {
      const get = ((document.paths as JsonObject)["/v1/items/{item}"] as JsonObject)
        .get as JsonObject;
      const content = ((get.responses as JsonObject)["200"] as JsonObject).content as JsonObject;
      content["application/vnd.stowage.item.v2+json"] = {
        schema: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
      };
    });
    const result = await runCodegen(["diff", BASE, head, "--format", "json"], dir);
    expect(result.code).toBe(0);
    const [spec] = (JSON.parse(result.stdout) as JsonReport).specs;
    expect(spec.changes.map((change) => [change.kind, change.rule])).toEqual([
      ["non-breaking", "media.version-added"],
    ]);
  });

  it("refuses an unknown format and a missing side", async () => {
    expect((await runCodegen(["diff", BASE, BASE, "--format", "html"], dir)).stderr).toMatch(
      /--format must be one of/,
    );
    const result = await runCodegen(["diff", BASE], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/give BASE and HEAD files, or --git <ref>, or --baseline/);
  });
});

describe.each([
  ["agent", "openapi/agent.yaml"],
  ["control", "openapi/control.yaml"],
])("stowage-codegen diff on the whole %s spec", (name, spec) => {
  const root = path.join(__dirname, "..", "..", "..");
  const entry = path.join(root, spec);
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `stowage-diff-${name}-`));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("finds no change against itself", async () => {
    const result = await runCodegen(["diff", entry, entry, "--format", "json"], dir);
    expect(result.code).toBe(0);
    const [report] = (JSON.parse(result.stdout) as JsonReport).specs;
    expect(report.changes).toEqual([]);
    expect(report.types).toEqual([]);
  });

  it("reports a response field removed from a copy as breaking", async () => {
    // The copy is the bundle (external $refs inlined) with one response property removed.
    const bundled = await runCodegen(["diff", entry, entry, "--format", "json"], dir);
    expect(bundled.code).toBe(0);
    const document = parse(await readFile(entry, "utf8")) as JsonObject;
    const { schemaName, property, operationId } = responseProperty(document);
    const schemas = (document.components as JsonObject).schemas as JsonObject;
    const target = schemas[schemaName] as JsonObject;
    delete (target.properties as JsonObject)[property];
    if (Array.isArray(target.required))
      target.required = target.required.filter((name) => name !== property);
    const copy = path.join(dir, path.basename(spec));
    await mkdir(path.join(dir, "common"), { recursive: true });
    await copyFile(
      path.join(root, "openapi", "common", "errors.yaml"),
      path.join(dir, "common", "errors.yaml"),
    );
    await writeFile(copy, stringify(document));
    const result = await runCodegen(["diff", entry, copy, "--format", "json"], dir);
    expect(result.code).toBe(1);
    const [report] = (JSON.parse(result.stdout) as JsonReport).specs;
    const pointer = `/components/schemas/${schemaName}/properties/${property}`;
    expect(report.changes.length).toBeGreaterThan(0);
    for (const change of report.changes) {
      expect([change.kind, change.rule, change.pointer]).toEqual([
        "breaking",
        "property.removed",
        pointer,
      ]);
    }
    expect(report.changes.map((change) => change.operation.operationId)).toContain(operationId);
    const types = report.types?.find((changes) => changes.operationId === operationId);
    expect(
      types?.removed.map(({ member }) => member).some((member) => member.endsWith(property)),
    ).toBe(true);
  });
});

describe("stowage-codegen diff --git and the baseline gate", () => {
  let repo: string;
  const config = {
    specs: [{ name: "items", spec: "specs/items.yaml", client: "client/src/generated" }],
  };
  const spec = () => path.join(repo, "specs", "items.yaml");
  const shared = () => path.join(repo, "specs", "shared.yaml");

  beforeAll(async () => {
    repo = await mkdtemp(path.join(tmpdir(), "stowage-diff-git-"));
    await mkdir(path.join(repo, "specs"));
    await writeFile(path.join(repo, "stowage.config.json"), JSON.stringify(config));
    // The Item schema lives in another file: the base must read it as it was at the ref.
    const document = parse(await readFile(BASE, "utf8")) as JsonObject;
    const schemas = (document.components as JsonObject).schemas as JsonObject;
    // Inside shared.yaml, `#/...` means shared.yaml: the other schemas are named through items.yaml.
    const item = JSON.stringify(schemas.Item).replace(
      /"#\/components\/schemas\/(?!Item")/g,
      '"./items.yaml#/components/schemas/',
    );
    await writeFile(
      shared(),
      stringify({ components: { schemas: { Item: JSON.parse(item) as JsonObject } } }),
    );
    schemas.Item = { $ref: "./shared.yaml#/components/schemas/Item" };
    await writeFile(spec(), stringify(document));
    await git("git", ["init", "-q"], { cwd: repo });
    await git("git", ["add", "."], { cwd: repo });
    await git(
      "git",
      ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base"],
      { cwd: repo },
    );
  });
  afterAll(() => rm(repo, { recursive: true, force: true }));

  async function editShared(edit: (item: JsonObject) => void): Promise<void> {
    const document = parse(await readFile(shared(), "utf8")) as JsonObject;
    edit(((document.components as JsonObject).schemas as JsonObject).Item as JsonObject);
    await writeFile(shared(), stringify(document));
  }

  it("compares the working tree with a git ref, external $refs read at the ref", async () => {
    const original = await readFile(shared(), "utf8");
    await editShared((item) => delete (item.properties as JsonObject).label);
    try {
      const result = await runCodegen(["diff", "--git", "HEAD", "--format", "json"], repo);
      expect(result.code).toBe(1);
      const [report] = (JSON.parse(result.stdout) as JsonReport).specs;
      expect(report.changes.map((change) => [change.rule, change.operation.operationId])).toEqual([
        ["property.removed", "listItems"],
        ["property.removed", "createItem"],
      ]);
      expect((await runCodegen(["diff", "--git", "HEAD", spec(), "--no-types"], repo)).code).toBe(
        1,
      );
    } finally {
      await writeFile(shared(), original);
    }
    expect((await git("git", ["status", "--porcelain"], { cwd: repo })).stdout).toBe("");
  });

  it("reports and passes while no baseline is taken", async () => {
    const result = await runCodegen(["diff", "--baseline"], repo);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("no baseline yet (openapi/baseline/items.yaml)");
  });

  it("fails on an unversioned breaking change against the baseline, passes a versioned one", async () => {
    const taken = await runCodegen(["baseline"], repo);
    expect(taken.code).toBe(0);
    expect(taken.stdout.trim()).toBe(path.join("openapi", "baseline", "items.yaml"));
    const baseline = await readFile(path.join(repo, "openapi", "baseline", "items.yaml"), "utf8");
    // Self-contained: the external schema is inlined.
    expect(baseline).not.toContain("shared.yaml");
    expect((await runCodegen(["diff", "--baseline"], repo)).stdout).toContain(
      "0 breaking, 0 non-breaking",
    );

    const original = await readFile(shared(), "utf8");
    await editShared((item) => ((item.properties as JsonObject).size = { type: "number" }));
    try {
      const result = await runCodegen(["diff", "--baseline", "--no-color"], repo);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /breaking +response 200 application\/json: `Item.size` type integer -> number/,
      );
    } finally {
      await writeFile(shared(), original);
    }

    // The same kind of change shipped as a new media type version beside v1 passes the gate.
    const entry = await readFile(spec(), "utf8");
    const document = parse(entry) as JsonObject;
    const get = ((document.paths as JsonObject)["/v1/items/{item}"] as JsonObject)
      .get as JsonObject;
    const content = ((get.responses as JsonObject)["200"] as JsonObject).content as JsonObject;
    content["application/vnd.stowage.item.v2+json"] = {
      schema: { type: "object", properties: { id: { type: "string" } } },
    };
    await writeFile(spec(), stringify(document));
    try {
      const result = await runCodegen(["diff", "--baseline", "--no-types"], repo);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("0 breaking, 1 non-breaking");
    } finally {
      await writeFile(spec(), entry);
    }
  });
});

/** The first operation whose success response is a component schema with its own properties. */
function responseProperty(document: JsonObject): {
  schemaName: string;
  property: string;
  operationId: string;
} {
  const schemas = (document.components as JsonObject).schemas as JsonObject;
  for (const item of Object.values(document.paths as JsonObject)) {
    for (const operation of Object.values(item as JsonObject)) {
      const responses = (operation as JsonObject).responses as JsonObject | undefined;
      const ok = (responses?.["200"] ?? responses?.["201"]) as JsonObject | undefined;
      const content = ok?.content as JsonObject | undefined;
      const ref = (
        (content?.["application/json"] as JsonObject | undefined)?.schema as JsonObject | undefined
      )?.$ref;
      const schemaName =
        typeof ref === "string" ? /^#\/components\/schemas\/(\w+)$/.exec(ref)?.[1] : undefined;
      const properties = schemaName
        ? ((schemas[schemaName] as JsonObject).properties as JsonObject | undefined)
        : undefined;
      if (!schemaName || !properties) continue;
      return {
        schemaName,
        property: Object.keys(properties)[0],
        operationId: String((operation as JsonObject).operationId),
      };
    }
  }
  throw new Error("no operation answers a component schema with properties");
}
