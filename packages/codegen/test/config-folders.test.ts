import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../src/config";
import { runCodegen } from "./run-codegen";

const FIXTURE = path.join(__dirname, "fixtures", "legacy-30.yaml");

describe("stowage.config.json folders", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "stowage-config-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const writeConfig = (specs: object[]) =>
    writeFile(path.join(dir, "stowage.config.json"), JSON.stringify({ specs }));

  it("rejects two entries writing to one folder, naming both", async () => {
    await writeConfig([
      { name: "legacy", spec: FIXTURE, client: "gen/legacy" },
      { name: "other", spec: FIXTURE, server: "./gen/legacy/" },
    ]);
    // Spelled differently, the same folder once resolved against the config's folder.
    await expect(loadConfig(path.join(dir, "stowage.config.json"))).rejects.toThrow(
      /specs\[0\]\.client \(legacy\) and specs\[1\]\.server \(other\) both write to \.\/gen\/legacy\//,
    );
  });

  it("accepts one spec listed twice under the same name for different folders", async () => {
    await writeConfig([
      { name: "legacy", spec: FIXTURE, client: "a/generated", server: "b/generated" },
      { name: "legacy", spec: FIXTURE, server: "c/generated" },
    ]);
    const config = await loadConfig(path.join(dir, "stowage.config.json"));
    expect(config.specs.map((entry) => entry.server)).toEqual(["b/generated", "c/generated"]);
  });

  it("makes generate fail before writing anything", async () => {
    await writeConfig([
      { name: "legacy", spec: FIXTURE, server: "gen" },
      { name: "legacy", spec: FIXTURE, server: "gen" },
    ]);
    const result = await runCodegen(["generate"], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^stowage-codegen: .*specs\[0\]\.server \(legacy\) and specs\[1\]\.server \(legacy\) both write to gen/m,
    );
    expect(await readdir(dir)).toEqual(["stowage.config.json"]);
  });
});
