import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCodegen } from "./run-codegen";

/**
 * Each fixture spec's generated files against a committed snapshot, one file per artifact.
 * `UPDATE_SNAPSHOTS=1 npx jest generator-snapshots` rewrites them; a snapshot folder without a
 * fixture, or a snapshot file the generator no longer writes (an orphan), fails.
 */
const ROOT = path.resolve(__dirname, "..", "..", "..");
const SNAPSHOTS = path.join(__dirname, "snapshots");
const update = process.env.UPDATE_SNAPSHOTS === "1";

const cases: { fixture: string; name: string }[] = [
  { fixture: "fixture-api", name: "fixture" },
  { fixture: "legacy-30", name: "legacy" },
];

async function generate(fixture: string, name: string): Promise<Map<string, string>> {
  const out = await mkdtemp(path.join(tmpdir(), `stowage-${fixture}-`));
  try {
    const spec = path.join("packages", "codegen", "test", "fixtures", `${fixture}.yaml`);
    const result = await runCodegen(
      ["generate", "--spec", spec, "--out", out, "--name", name],
      ROOT,
    );
    if (result.code !== 0) throw new Error(result.stderr);
    const files = new Map<string, string>();
    for (const file of (await readdir(out)).sort())
      files.set(file, await readFile(path.join(out, file), "utf8"));
    return files;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

describe.each(cases)("generated output of $fixture", ({ fixture, name }) => {
  let first: Map<string, string>;
  beforeAll(async () => {
    first = await generate(fixture, name);
    if (update) {
      await rm(path.join(SNAPSHOTS, fixture), { recursive: true, force: true });
      await mkdir(path.join(SNAPSHOTS, fixture), { recursive: true });
      for (const [file, content] of first)
        await writeFile(path.join(SNAPSHOTS, fixture, `${file}.out`), content);
    }
  });

  it("matches the snapshot of every artifact, with no orphaned snapshot", async () => {
    const snapshotFiles = (await readdir(path.join(SNAPSHOTS, fixture))).sort();
    expect(snapshotFiles).toEqual([...first.keys()].map((file) => `${file}.out`));
    for (const [file, content] of first) {
      expect({ file, content }).toEqual({
        file,
        content: await readFile(path.join(SNAPSHOTS, fixture, `${file}.out`), "utf8"),
      });
    }
  });

  it("is byte-identical when generated again", async () => {
    expect(await generate(fixture, name)).toEqual(first);
  });
});

it("keeps no snapshot folder for a fixture that is gone", async () => {
  const known = new Set(cases.map(({ fixture }) => fixture));
  expect((await readdir(SNAPSHOTS)).filter((folder) => !known.has(folder))).toEqual([]);
});
