import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
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

describe("stowage-agent with a files deployment on two file targets", () => {
  it("stores one artifact in both, leaves excluded paths out, and restores from either", async () => {
    const operator = world.t.client();
    const source = path.join(world.work, "site");
    const files: Record<string, string> = {
      "index.html": "<h1>hello</h1>\n",
      "assets/app.js": "console.log(1);\n",
      "debug.log": "excluded file\n",
      "tmp/session-1": "excluded directory\n",
      "tmp/nested/session-2": "excluded directory\n",
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(source, name)), { recursive: true });
      await writeFile(path.join(source, name), text);
    }
    const secondDir = path.join(world.work, "mirror");
    const second = must(
      await operator.POST("/v1/targets", {
        body: { type: "file", name: "mirror-disk", url: `file://${secondDir}` },
      }),
    );
    const deployment = must(
      await operator.POST("/v1/deployments", {
        body: {
          name: "site",
          kind: "files",
          connection: { paths: [source], exclude: ["*.log", "/tmp/"] },
          driver: { type: "pull", agent_id: world.instance },
          target_ids: [world.targetId, second.id],
        },
      }),
    );
    await world.startAgent();

    const backup = await completedBackup(world.t, deployment.id);
    expect(backup.state).toBe("COMPLETED");

    // Both copies in the catalog, the first target's first.
    const first = fileURLToPath(backup.locations[0].url);
    expect(path.dirname(first)).toBe(path.join(world.targetDir, "site"));
    const copies = [first, path.join(secondDir, "site", path.basename(first))];
    expect(backup.locations.map((location) => fileURLToPath(location.url))).toEqual(copies);
    for (const copy of copies) {
      const digest = createHash("sha256")
        .update(await readFile(copy))
        .digest("hex");
      expect(digest).toBe(backup.sha256);
      expect(await readdir(path.dirname(copy))).toEqual([path.basename(first)]);
    }

    const expected = new Map<string, Buffer | "dir">([
      ["assets", "dir"],
      ["assets/app.js", Buffer.from(files["assets/app.js"])],
      ["index.html", Buffer.from(files["index.html"])],
    ]);
    const restore = async (destination: string) => {
      const frames = await follow(
        operator.streamNdjson("post", "/v1/deployments/{deployment}/restores", {
          params: { path: { deployment: deployment.id } },
          body: { backup_id: backup.id, target: destination },
        }),
      );
      expect(frames[frames.length - 1]).toMatchObject({ op: "restore_completed" });
      return treeOf(path.join(destination, source));
    };
    expect(await restore(path.join(world.work, "restored-1"))).toEqual(expected);

    // The first target lost its copy: the second one restores the same tree.
    await rm(first);
    expect(await restore(path.join(world.work, "restored-2"))).toEqual(expected);

    // Deleting the backup removes every copy (the first is gone already: that counts as removed).
    const deleted = await operator.DELETE("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment: deployment.id, backup: backup.id } },
    });
    expect(deleted.response.ok).toBe(true);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await readdir(path.join(secondDir, "site"))).length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await readdir(path.join(secondDir, "site"))).toEqual([]);
  }, 60_000);
});
