import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { components } from "@stowage/agent-client";
import type { ResultManifest } from "../src/pipelines/backup";
import { runWithHooks, type HookContext } from "../src/pipelines/hook-scripts";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "stowage-agent-hooks-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function script(relative: string, body: string, mode = 0o755): Promise<string> {
  const file = path.join(work, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\n${body}\n`, { mode });
  return file;
}

const stored = () => path.join(work, "orders-000001.sql.gz");

function manifest(): ResultManifest {
  return {
    size_bytes: 10,
    sha256: "0".repeat(64),
    location: pathToFileURL(stored()).href,
    started_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
    timings: [{ phase: "dump", duration_ms: 5 }],
  };
}

/** A hook context that records what the scripts wrote and which phases started. */
function context(scripts: components["schemas"]["Scripts"]) {
  const lines: { phase: string; stream: string; line: string }[] = [];
  const phases: string[] = [];
  const hooks: HookContext = {
    scripts,
    deployment: "orders",
    job: "job_1",
    onPhase: (phase) => phases.push(phase),
    onOutput: (phase, stream, line) => lines.push({ phase, stream, line }),
  };
  return { hooks, lines, phases };
}

describe("hook scripts around a backup", () => {
  it("runs a directory's executables in lexical order, then the work, then the post scripts", async () => {
    await script("pre.d/20-second", 'echo "second $STOWAGE_DEPLOYMENT $STOWAGE_JOB"');
    await script("pre.d/10-first", 'echo first; echo "to stderr" >&2');
    await script("pre.d/15-not-executable", "echo never", 0o644);
    const post = await script("post.sh", 'echo "stored $STOWAGE_BACKUP_FILE in $STOWAGE_PHASE"');
    const { hooks, lines, phases } = context({
      pre_backup: [path.join(work, "pre.d")],
      post_backup: [post],
    });
    let workRan = false;

    const result = await runWithHooks("backup", hooks, async () => {
      workRan = true;
      return manifest();
    });

    expect(workRan).toBe(true);
    expect(phases).toEqual(["pre-backup", "post-backup"]);
    expect(lines).toEqual([
      { phase: "pre-backup", stream: "stdout", line: "first" },
      { phase: "pre-backup", stream: "stderr", line: "to stderr" },
      { phase: "pre-backup", stream: "stdout", line: "second orders job_1" },
      { phase: "post-backup", stream: "stdout", line: `stored ${stored()} in post-backup` },
    ]);
    expect(result.timings.map((timing) => timing.phase)).toEqual([
      "pre-backup",
      "dump",
      "post-backup",
    ]);
  });

  it("fails before the work starts when a pre script fails", async () => {
    const pre = await script("pre.sh", "echo 'database is locked' >&2; exit 3");
    const { hooks, lines } = context({ pre_backup: [pre] });
    const work = jest.fn(async () => manifest());

    await expect(runWithHooks("backup", hooks, work)).rejects.toThrow(
      `pre-backup script ${pre} exited with code 3`,
    );
    expect(work).not.toHaveBeenCalled();
    expect(lines).toEqual([{ phase: "pre-backup", stream: "stderr", line: "database is locked" }]);
  });

  it("fails the job when a post script fails, after letting the caller drop the backup", async () => {
    const post = await script("post.sh", "exit 1");
    const { hooks } = context({ post_backup: [post] });
    const dropped: string[] = [];

    await expect(
      runWithHooks(
        "backup",
        hooks,
        async () => manifest(),
        async (result) => void dropped.push(result.location),
      ),
    ).rejects.toThrow(`post-backup script ${post} exited with code 1`);
    expect(dropped).toEqual([pathToFileURL(stored()).href]);
  });

  it("refuses a hook path that does not exist and kills a script that outlives its timeout", async () => {
    const missing = path.join(work, "missing.sh");
    await expect(
      runWithHooks("restore", context({ pre_restore: [missing] }).hooks, async () => manifest()),
    ).rejects.toThrow(`pre-restore script ${missing} does not exist`);

    const slow = await script("slow.sh", "exec sleep 30");
    await expect(
      runWithHooks(
        "restore",
        context({ post_restore: [slow], timeout_seconds: 1 }).hooks,
        async () => manifest(),
      ),
    ).rejects.toThrow(`post-restore script ${slow} timed out after 1 s`);
  });
});
