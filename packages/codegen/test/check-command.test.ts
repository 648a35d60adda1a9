import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCodegen } from "./run-codegen";

const FIXTURE = path.join(__dirname, "fixtures", "legacy-30.yaml");

describe("stowage-codegen check", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "stowage-check-"));
    const config = {
      specs: [
        {
          name: "legacy",
          spec: FIXTURE,
          client: "client/src/generated",
          server: "server/src/generated",
        },
      ],
    };
    await writeFile(path.join(dir, "stowage.config.json"), JSON.stringify(config));
    const generated = await runCodegen(["generate"], dir);
    expect(generated.code).toBe(0);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("passes on freshly generated code", async () => {
    const result = await runCodegen(["check"], dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/up to date \(10 files\)/);
  });

  it("fails, naming the file, after a hand edit of a generated file", async () => {
    const file = path.join(dir, "client", "src", "generated", "schemas.ts");
    const original = await readFile(file, "utf8");
    await writeFile(file, original.replace("z.string()", "z.string().min(1)"));
    try {
      const result = await runCodegen(["check"], dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(path.join("client", "src", "generated", "schemas.ts"));
    } finally {
      await writeFile(file, original);
    }
  });

  it("fails on a file the spec no longer generates, and generate removes it", async () => {
    const orphan = path.join(dir, "server", "src", "generated", "leftover.ts");
    await appendFile(orphan, "export {};\n");
    const result = await runCodegen(["check"], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/orphaned: .*leftover\.ts/);
    expect((await runCodegen(["generate"], dir)).code).toBe(0);
    expect((await runCodegen(["check"], dir)).code).toBe(0);
  });

  it("fails with a clear message when the spec cannot be read", async () => {
    const result = await runCodegen(["generate", "--spec", "missing.yaml", "--out", "x"], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stowage-codegen: .*missing\.yaml/m);
  });
});
