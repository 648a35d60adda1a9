import { access, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { secondConnection } from "../../controller/test/pull-fixture";
import {
  completedBackup,
  follow,
  must,
  startAgentWorld,
  until,
  type AgentWorld,
} from "./agent-e2e";

let world: AgentWorld;

beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world.stop();
});

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Deletes the backup and follows the delete job it queued to its outcome frame. */
async function deleteAndFollow(deployment: string, backup: string) {
  const operator = world.t.client();
  must(
    await operator.DELETE("/v1/deployments/{deployment}/backups/{backup}", {
      params: { path: { deployment, backup } },
    }),
  );
  const [job] = must(
    await operator.GET("/v1/jobs", { params: { query: { deployment, kind: "delete" } } }),
  ).items.filter((candidate) => candidate.backup_id === backup);
  const frames = await follow(
    operator.streamNdjson("get", "/v1/jobs/{job}/events", {
      params: { path: { job: job.id }, query: { follow: true } },
    }),
  );
  const finished = await until(`delete job ${job.id} to end`, async () => {
    const view = must(await operator.GET("/v1/jobs/{job}", { params: { path: { job: job.id } } }));
    return view.ended_at === null ? undefined : view;
  });
  return { job: finished, outcome: frames[frames.length - 1] };
}

describe("an operator's backup delete on the reference agent", () => {
  it("removes the backup's file through a delete job, and no other", async () => {
    const source = path.join(world.work, "notes.txt");
    await writeFile(source, "note\n".repeat(500));
    const deployment = await world.deploy({
      name: "notes",
      kind: "files",
      connection: { paths: [source] },
    });
    await world.startAgent();
    const doomed = await completedBackup(world.t, deployment.id);
    const kept = await completedBackup(world.t, deployment.id);
    const doomedFile = fileURLToPath(doomed.locations[0].url);
    const keptFile = fileURLToPath(kept.locations[0].url);
    expect(await exists(doomedFile)).toBe(true);

    const { job, outcome } = await deleteAndFollow(deployment.id, doomed.id);

    expect(job).toMatchObject({
      kind: "delete",
      status: "SUCCEEDED",
      trigger: "manual",
      agent_id: world.instance,
    });
    expect(outcome).toMatchObject({
      op: "backup_files_removed",
      body: { sequence: doomed.sequence, removed_bytes: doomed.sizes.stored_bytes },
    });
    expect(await exists(doomedFile)).toBe(false);
    expect(await exists(keptFile)).toBe(true);
    const after = must(
      await world.t.client().GET("/v1/deployments/{deployment}/backups/{backup}", {
        params: { path: { deployment: deployment.id, backup: doomed.id } },
      }),
    );
    expect(after.deleted).not.toBeNull();
  }, 30_000);

  it("refuses a location outside the deployment's target folder: the job fails, the file stays", async () => {
    const backup = await completedBackup(world.t, "notes");
    // A catalog entry that names a file it does not own, as a tampered or mistaken one would.
    const decoy = path.join(world.work, "decoy.tar.gz");
    await writeFile(decoy, "not a backup\n");
    const { db } = secondConnection(world.t);
    try {
      db.prepare("UPDATE backups SET locations = ? WHERE id = ?").run(
        JSON.stringify([{ target_id: world.targetId, url: pathToFileURL(decoy).href }]),
        backup.id,
      );
    } finally {
      db.close();
    }

    const { job, outcome } = await deleteAndFollow("notes", backup.id);

    expect(job).toMatchObject({
      status: "FAILED",
      error_message: expect.stringContaining("it is outside the deployment's target folders"),
    });
    expect(outcome).toMatchObject({ op: "job_failed" });
    expect(await exists(decoy)).toBe(true);
  }, 30_000);
});
