import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { completedBackup, follow, must, startAgentWorld, type AgentWorld } from "./agent-e2e";
import { treeOf } from "./file-tree";

let world: AgentWorld;

beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world.stop();
});

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

    const backup = await completedBackup(world.t, deployment.id);
    const catalog = must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
      }),
    ).items;
    expect(catalog.map((entry) => entry.id)).toEqual([backup.id]);
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
