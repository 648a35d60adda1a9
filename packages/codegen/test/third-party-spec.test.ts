import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describeWithShared, sharedDir } from "../../../scripts/test-support/shared-dir";
import { typeCheck } from "./compile-generated";
import { runCodegen } from "./run-codegen";

const ROOT = path.resolve(__dirname, "..", "..", "..");

describeWithShared("the generator on the real databacker spec", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(path.join(ROOT, "packages", "codegen", ".databacker-"));
  });
  afterAll(() => rm(out, { recursive: true, force: true }));

  it("bundles its multi-file OpenAPI 3.0 spec and emits code that type-checks", async () => {
    const spec = path.join(sharedDir, "reference", "databacker-api", "api.yaml");
    const result = await runCodegen(
      ["generate", "--spec", spec, "--out", out, "--name", "databacker"],
      ROOT,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toEqual([
      "client.ts",
      "handlers.ts",
      "operations.ts",
      "router.ts",
      "schemas.ts",
      "spec.ts",
      "types.ts",
    ]);
    expect(typeCheck(files.map((file) => path.join(out, file)))).toEqual([]);
  }, 60_000);
});
