import { open, writeFile } from "node:fs/promises";
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

describe("verify jobs on the reference agent", () => {
  it("verifies an intact backup, then reports a corrupted one as failed", async () => {
    const operator = world.t.client();
    const source = path.join(world.work, "report.txt");
    await writeFile(source, "quarterly numbers\n".repeat(10_000));
    const deployment = await world.deploy({
      name: "reports",
      kind: "files",
      connection: { paths: [source] },
    });
    await world.startAgent();
    const taken = await follow(
      operator.streamNdjson("post", "/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
        body: {},
      }),
    );
    expect(taken[taken.length - 1]).toMatchObject({ op: "backup_completed" });
    const [backup] = must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment: deployment.id } },
      }),
    ).items;
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
    expect(last).toMatchObject({ op: "job_failed" });
    expect(JSON.stringify(last)).toContain("does not match its manifest");
    const verification = (await backupNow()).verification;
    expect(verification).toMatchObject({ ok: false });
    expect(verification?.message).toContain("does not match its manifest");
    const job = must(
      await operator.GET("/v1/jobs/{job}", {
        params: { path: { job: verification?.job_id ?? "" } },
      }),
    );
    expect(job).toMatchObject({ kind: "verify", status: "FAILED" });
  }, 30_000);
});
