import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import {
  startTestController,
  type TestController,
} from "../../../packages/controller/test/test-controller";
import { must, take } from "../../../packages/controller/test/pull-fixture";
import { enroll, runOneJob, type QuickstartAgent } from "../src/quickstart-agent";

let t: TestController;
let work: string;
let agent: QuickstartAgent;
let targetId: string;

beforeAll(async () => {
  t = await startTestController();
  work = await mkdtemp(path.join(tmpdir(), "stowage-quickstart-agent-"));
  const operator = t.client();
  const target = must(
    await operator.POST("/v1/targets", {
      body: { type: "file", name: "local-disk", url: `file://${path.join(work, "backups")}` },
    }),
  );
  targetId = target.id;
  const enrollment = must(await operator.POST("/v1/enrollments", { body: {} }));
  agent = await enroll(t.url, enrollment.token);
});

afterAll(async () => {
  await t.stop();
  await rm(work, { recursive: true, force: true });
});

/** A `files` deployment of one path, run by the quickstart agent; answers its name. */
async function filesDeployment(name: string, file: string): Promise<string> {
  const deployment = must(
    await t.client().POST("/v1/deployments", {
      body: {
        name,
        kind: "files",
        connection: { paths: [file] },
        driver: { type: "pull", agent_id: agent.instance },
        target_ids: [targetId],
      },
    }),
  );
  return deployment.name;
}

describe("quickstart agent", () => {
  it("copies the deployment's file to the target and completes with the stored bytes' sha256", async () => {
    const source = path.join(work, "notes.txt");
    const content = randomBytes(256 * 1024).toString("hex");
    await writeFile(source, content);
    const deployment = await filesDeployment("notes", source);
    const job = await take(t.client(), deployment);

    expect(await runOneJob(agent, 5)).toBe("succeeded");

    const operator = t.client();
    const finished = must(
      await operator.GET("/v1/jobs/{job}", { params: { path: { job: job.id } } }),
    );
    expect(finished.status).toBe("SUCCEEDED");
    const [backup, ...others] = must(
      await operator.GET("/v1/deployments/{deployment}/backups", {
        params: { path: { deployment } },
      }),
    ).items;
    expect(others).toHaveLength(0);
    expect(backup.state).toBe("COMPLETED");
    const stored = await readFile(fileURLToPath(backup.locations[0].url));
    expect(backup.sha256).toBe(createHash("sha256").update(stored).digest("hex"));
    expect(backup.sizes.stored_bytes).toBe(stored.length);
    // Deployments compress with gzip by default: the stored file unpacks to the source.
    expect(gunzipSync(stored).toString()).toBe(content);
    expect(await readdir(path.join(work, "backups", deployment))).toHaveLength(1);
  });

  it("completes the job as failed, with the reason, when the file is missing", async () => {
    const deployment = await filesDeployment("gone", path.join(work, "missing.txt"));
    const job = await take(t.client(), deployment);

    expect(await runOneJob(agent, 5)).toBe("failed");

    const finished = must(
      await t.client().GET("/v1/jobs/{job}", { params: { path: { job: job.id } } }),
    );
    expect(finished.status).toBe("FAILED");
    expect(finished.error_message).toContain("ENOENT");
  });

  it("answers idle when no job is queued within the wait", async () => {
    expect(await runOneJob(agent, 1)).toBe("idle");
  });
});
