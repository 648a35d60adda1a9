import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { compareSpecs } from "../src/diff/compare-specs";
import type { JsonObject } from "../src/load/openapi-document";
import { bundleSpec } from "../src/load/bundle-spec";
import { RULE_CASES, type RuleCase } from "./diff-rule-cases";

const BASE = readFileSync(path.join(__dirname, "fixtures", "diff", "base-api.yaml"), "utf8");

describe("breaking-change rules", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "stowage-diff-rules-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("has a case for at least 40 rules and directions", () => {
    expect(RULE_CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(RULE_CASES.map((rule, index) => [rule.name, index, rule] as const))(
    "%s",
    async (_name, index, rule: RuleCase) => {
      const base = await writeSide(dir, `${index}-base.yaml`, rule.base);
      const head = await writeSide(dir, `${index}-head.yaml`, rule.head);
      const changes = compareSpecs(
        (await bundleSpec(base)).document,
        (await bundleSpec(head)).document,
      );
      const got = changes.map((change) => [change.kind, change.rule, change.operation.operationId]);
      expect(got).toEqual(rule.want);
      for (const change of changes) {
        expect(change.pointer).toMatch(/^\/(paths|components)\//);
        expect(change.reason).not.toBe("");
      }
    },
  );
});

async function writeSide(
  dir: string,
  name: string,
  edit: ((document: JsonObject) => void) | undefined,
): Promise<string> {
  const document = parse(BASE) as JsonObject;
  edit?.(document);
  const file = path.join(dir, name);
  await writeFile(file, stringify(document));
  return file;
}
