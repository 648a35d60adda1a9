import { open, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { completedBackup, follow, must, startAgentWorld, type AgentWorld } from "./agent-e2e";

let world: AgentWorld;

beforeAll(async () => {
  world = await startAgentWorld();
});
afterAll(async () => {
  await world.stop();
});

describe("verify jobs on the reference agent", () => {
  it("verifies an intact backup, then reports a corrupted one as failed", async () => {
    const operator = world.t.client();
    const source = path.join(world.work, "report.txt");
    await writeFile(source, "quarterly numbers\n".repeat(10_000));
    // Hook scripts around the backup: their output lands in the job's log, tagged with the phase.
    const pre = path.join(world.work, "pre-backup.sh");
    const post = path.join(world.work, "post-backup.sh");
    await writeFile(pre, '#!/bin/sh\necho "freezing $STOWAGE_DEPLOYMENT"\n', { mode: 0o755 });
    await writeFile(post, '#!/bin/sh\necho "stored $(basename "$STOWAGE_BACKUP_FILE")"\n', {
      mode: 0o755,
    });
    const deployment = await world.deploy({
      name: "reports",
      kind: "files",
      connection: { paths: [source] },
      scripts: { pre, post },
    });
    await world.startAgent();
    const backup = await completedBackup(world.t, deployment.id);
    const logs = await operator.GET("/v1/jobs/{job}/logs", {
      params: { path: { job: backup.job_id ?? "" } },
      parseAs: "text",
    });
    const hookLines = (logs.data ?? "")
      .split("\n")
      .filter((line) => line.includes('"stream":"stdout"'))
      .map((line) => JSON.parse(line) as { message: string; fields?: { phase?: string } });
    expect(hookLines.map((line) => [line.fields?.phase, line.message])).toEqual([
      ["pre-backup", "freezing reports"],
      ["post-backup", `stored ${path.basename(fileURLToPath(backup.locations[0].url))}`],
    ]);

    const route = { params: { path: { deployment: deployment.id, backup: backup.id } } };
    const backupNow = async () =>
      must(await operator.GET("/v1/deployments/{deployment}/backups/{backup}", route));

    const verified = await follow(
      operator.streamNdjson("post", "/v1/deployments/{deployment}/backups/{backup}/verify", route),
    );
    expect(verified[verified.length - 1]).toMatchObject({
      op: "verify_completed",
      body: { ok: true, sha256: backup.sha256 },
    });
    expect((await backupNow()).verification).toMatchObject({ ok: true });

    // One flipped byte in the middle of the stored file: same size, different digest.
    const stored = fileURLToPath(backup.locations[0].url);
    const handle = await open(stored, "r+");
    try {
      const { size } = await handle.stat();
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, Math.floor(size / 2));
      await handle.write(Buffer.from([byte[0] ^ 0xff]), 0, 1, Math.floor(size / 2));
    } finally {
      await handle.close();
    }

    const failed = await follow(
      operator.streamNdjson("post", "/v1/deployments/{deployment}/backups/{backup}/verify", route),
    );
    const last = failed[failed.length - 1];
    // The agent reports the digest it read; the controller compares it and names the failure.
    expect(last).toMatchObject({ op: "job_failed", body: { code: "verify.failed" } });
    expect(JSON.stringify(last)).toContain("does not match the manifest");
    const verification = (await backupNow()).verification;
    expect(verification).toMatchObject({ ok: false });
    expect(verification?.message).toContain("does not match the manifest");
    const job = must(
      await operator.GET("/v1/jobs/{job}", {
        params: { path: { job: verification?.job_id ?? "" } },
      }),
    );
    expect(job).toMatchObject({ kind: "verify", status: "FAILED" });
  }, 30_000);
});
