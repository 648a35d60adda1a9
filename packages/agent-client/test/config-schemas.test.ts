import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { describeWithShared, sharedDir } from "../../../scripts/test-support/shared-dir";
import { ConfigV1Schema, ConfigV2Schema } from "../src";

/** What an agent author does with the package: validate the config document it received. */
describeWithShared("the zod schemas an agent validates its config with", () => {
  const configs = path.join(sharedDir, "reference", "databacker-configs");

  it("accept every databacker reference config as v1", async () => {
    const files = (await readdir(configs)).filter((file) => file.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const result = ConfigV1Schema.safeParse(
        parse(await readFile(path.join(configs, file), "utf8")),
      );
      expect({ file, issues: result.success ? [] : result.error.issues }).toEqual({
        file,
        issues: [],
      });
    }
  });

  it("narrow the v1 document by kind", async () => {
    const config = ConfigV1Schema.parse(
      parse(await readFile(path.join(configs, "remote.yaml"), "utf8")),
    );
    expect(config.kind).toBe("remote");
    if (config.kind === "remote") expect(config.spec.certificates?.[0]).toMatch(/^sha256:/);
  });

  it.each([
    ["without metadata", { version: "config.databack.io/v1", kind: "local", spec: {} }],
    [
      "of an unknown kind",
      { version: "config.databack.io/v1", kind: "cloud", metadata: {}, spec: {} },
    ],
    [
      "of another version",
      { version: "config.databack.io/v2", kind: "local", metadata: {}, spec: {} },
    ],
    [
      "with a target without url",
      {
        version: "config.databack.io/v1",
        kind: "local",
        metadata: {},
        spec: { targets: { t: { type: "file" } } },
      },
    ],
  ])("refuse a v1 document %s", (_name, document) => {
    expect(ConfigV1Schema.safeParse(document).success).toBe(false);
  });
});

describe("the v2 config schema", () => {
  it("accepts the spec's own v2 example", async () => {
    const spec = parse(
      await readFile(path.join(__dirname, "..", "..", "..", "openapi", "agent.yaml"), "utf8"),
    ) as {
      components: { examples: Record<string, { value: unknown }> };
    };
    const example = spec.components.examples.ConfigV2.value;
    expect(ConfigV2Schema.safeParse(example).error?.issues ?? []).toEqual([]);
  });
});
