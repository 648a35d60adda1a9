import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCodegen } from "./run-codegen";

/**
 * Generated headers name the spec relative to the project (the folder of the nearest
 * stowage.config.json above the output), not to the working directory, so `generate --spec` and
 * `scaffold` run from anywhere write what `check` expects.
 */
describe("the spec label in generated headers", () => {
  let base: string;
  let project: string;
  let elsewhere: string;
  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), "stowage-label-"));
    project = path.join(base, "project");
    elsewhere = path.join(base, "elsewhere");
    await mkdir(path.join(project, "specs"), { recursive: true });
    await mkdir(elsewhere);
    await copyFile(
      path.join(__dirname, "fixtures", "legacy-30.yaml"),
      path.join(project, "specs", "legacy.yaml"),
    );
    const config = {
      specs: [
        {
          name: "legacy",
          spec: "specs/legacy.yaml",
          client: "client/src/generated",
          server: "server/src/generated",
        },
      ],
    };
    await writeFile(path.join(project, "stowage.config.json"), JSON.stringify(config));
    expect((await runCodegen(["generate"], project)).code).toBe(0);
  }, 60_000);
  afterAll(() => rm(base, { recursive: true, force: true }));

  const header = (file: string) => readFile(file, "utf8").then((text) => text.split("\n")[1] ?? "");

  it("is relative to the config above --out when generating from another folder", async () => {
    const out = path.join(project, "one-off");
    const spec = path.join("..", "project", "specs", "legacy.yaml");
    const result = await runCodegen(
      ["generate", "--spec", spec, "--out", out, "--name", "legacy"],
      elsewhere,
    );
    expect(result.stderr).toBe("");
    expect(await header(path.join(out, "types.ts"))).toMatch(/ from specs\/legacy\.yaml \(/);
    // Byte for byte what the config generates, so check agrees.
    for (const file of ["types.ts", "schemas.ts", "client.ts"])
      expect(await readFile(path.join(out, file), "utf8")).toBe(
        await readFile(path.join(project, "client", "src", "generated", file), "utf8"),
      );
  }, 60_000);

  it("falls back to the working directory when no config is above --out", async () => {
    const out = path.join(elsewhere, "out");
    const spec = path.join("..", "project", "specs", "legacy.yaml");
    const result = await runCodegen(
      ["generate", "--spec", spec, "--out", out, "--name", "legacy"],
      elsewhere,
    );
    expect(result.code).toBe(0);
    expect(await header(path.join(out, "types.ts"))).toMatch(
      / from \.\.\/project\/specs\/legacy\.yaml \(/,
    );
  }, 60_000);

  it("is the same for scaffold, so check passes on the stubs it writes", async () => {
    const server = path.join(project, "server");
    const spec = path.join("..", "project", "specs", "legacy.yaml");
    const result = await runCodegen(
      ["scaffold", "--spec", spec, "--out", server, "--name", "legacy", "--force"],
      elsewhere,
    );
    expect(result.stderr).toBe("");
    expect(await header(path.join(server, "src", "generated", "types.ts"))).toMatch(
      / from specs\/legacy\.yaml \(/,
    );
    const check = await runCodegen(["check"], project);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  }, 60_000);
});
