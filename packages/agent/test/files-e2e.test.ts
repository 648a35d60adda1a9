import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { follow, must, startAgentWorld, type AgentWorld } from "./agent-e2e";

let world: AgentWorld;

beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world.stop();
});

/** Every entry under `root` by its path relative to it: a file's contents, or "dir". */
async function treeOf(root: string): Promise<Map<string, Buffer | "dir">> {
  const tree = new Map<string, Buffer | "dir">();
  for (const entry of (await readdir(root, { recursive: true })).sort()) {
    const full = path.join(root, entry);
    tree.set(entry, (await stat(full)).isDirectory() ? "dir" : await readFile(full));
  }
  return tree;
}

describe("stowage-agent with a files deployment", () => {
  it("takes a tar backup the operator asked for and restores it to a new directory", async () => {
    const operator = world.t.client();
    const source = path.join(world.work, "site");
    await mkdir(path.join(source, "assets", "deep", "nested"), { recursive: true });
    await writeFile(path.join(source, "index.html"), "<h1>hello</h1>\n");
    // Incompressible bytes, so the archive spans many tar blocks and gzip chunks.
    await writeFile(path.join(source, "assets", "logo.bin"), randomBytes(3 * 1024 * 1024));
    await writeFile(path.join(source, "assets", "deep", "nested", "notes.txt"), "a\nb\nc\n");
    await writeFile(path.join(source, "empty.txt"), "");

    const deployment = await world.deploy({
      name: "site",
      kind: "files",
      connection: { paths: [source] },
    });
    await world.startAgent();

    const backupFrames = await follow(
      operator.streamNdjson("post", "/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
        body: {},
      }),
    );
    expect(backupFrames[backupFrames.length - 1]).toMatchObject({ op: "backup_completed" });

    const [backup, ...others] = must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
      }),
    ).items;
    expect(others).toHaveLength(0);
    expect(backup.state).toBe("COMPLETED");
    const stored = fileURLToPath(backup.locations[0].url);
    expect(path.dirname(stored)).toBe(path.join(world.targetDir, "site"));
    expect(stored).toMatch(/\.tar\.gz$/);
    const bytes = await readFile(stored);
    expect(backup.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));

    const destination = path.join(world.work, "restored");
    const restoreFrames = await follow(
      operator.streamNdjson("post", "/v1/deployments/{deployment}/restores", {
        params: { path: { deployment: deployment.id } },
        body: { backup_id: backup.id, target: destination },
      }),
    );
    expect(restoreFrames[restoreFrames.length - 1]).toMatchObject({ op: "restore_completed" });
    // The archive holds absolute paths relative to `/`, so the tree lands under its full path.
    const restoredRoot = path.join(destination, source);
    const restored = await treeOf(restoredRoot);
    expect([...restored.keys()]).toContain("assets/deep/nested/notes.txt");
    expect(restored).toEqual(await treeOf(source));
  }, 30_000);
});
