import { access, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { BackupDeployment } from "../src/pipelines/backup";
import {
  deleteBackupFiles,
  RefusedDeleteError,
  type StoredBackupFiles,
} from "../src/pipelines/delete-backup-files";

const SHA256 = "ab".repeat(32);
const CONTENT = "backup bytes\n";

let work: string;
let targetPath: string;
let folder: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "stowage-agent-delete-"));
  targetPath = path.join(work, "backups");
  folder = path.join(targetPath, "ledger");
  await mkdir(folder, { recursive: true });
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function deployment(): BackupDeployment {
  return {
    name: "ledger",
    kind: "files",
    connection: { paths: ["/srv/ledger"] },
    schedules: [],
    targets: [{ type: "file", name: "disk", path: targetPath }],
    retention: {},
    compression: { algorithm: "gzip" },
  };
}

function backupAt(...files: string[]): StoredBackupFiles {
  return {
    id: "bak_1",
    sequence: 7,
    sha256: SHA256,
    size_bytes: Buffer.byteLength(CONTENT),
    locations: files.map((file) => pathToFileURL(file).href),
  };
}

async function stored(name: string, content = CONTENT): Promise<string> {
  const file = path.join(folder, name);
  await writeFile(file, content);
  return file;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe("deleteBackupFiles", () => {
  it("removes exactly the listed files and answers the bytes removed", async () => {
    const listed = await stored("ledger-000007-bak_1.tar.gz");
    const copy = await stored("ledger-000007-bak_1.copy.tar.gz");
    const neighbour = await stored("ledger-000008-bak_2.tar.gz");
    const outcomes: [string, string][] = [];

    const manifest = await deleteBackupFiles(backupAt(listed, copy), deployment(), {
      onRemoved: (location, outcome) => outcomes.push([location, outcome]),
    });

    expect(await exists(listed)).toBe(false);
    expect(await exists(copy)).toBe(false);
    expect(await exists(neighbour)).toBe(true);
    expect(manifest).toMatchObject({
      size_bytes: 2 * Buffer.byteLength(CONTENT),
      sha256: SHA256,
      location: pathToFileURL(listed).href,
    });
    expect(manifest.timings).toHaveLength(1);
    expect(manifest.timings[0].phase).toBe("delete");
    expect(manifest.timings[0].duration_ms).toBeGreaterThanOrEqual(0);
    expect(outcomes).toEqual([
      [pathToFileURL(listed).href, "removed"],
      [pathToFileURL(copy).href, "removed"],
    ]);
  });

  it("counts a file already gone, or a folder already gone, as removed", async () => {
    const gone = path.join(folder, "ledger-000007-bak_1.tar.gz");
    const folderGone = path.join(targetPath, "ledger", "old", "ledger-000001-bak_0.tar.gz");
    const outcomes: string[] = [];
    const manifest = await deleteBackupFiles(backupAt(gone, folderGone), deployment(), {
      onRemoved: (_location, outcome) => outcomes.push(outcome),
    });
    expect(manifest.size_bytes).toBe(0);
    expect(outcomes).toEqual(["already gone", "already gone"]);
  });

  it.each([
    ["outside the target", () => path.join(work, "elsewhere.tar.gz")],
    ["of another deployment", () => path.join(targetPath, "other-db", "x.tar.gz")],
    ["that climbs out with ..", () => path.join(folder, "..", "..", "up.tar.gz")],
    ["naming the folder itself", () => folder],
  ])("refuses a location %s, and removes nothing", async (_case, outside) => {
    const listed = await stored("ledger-000007-bak_1.tar.gz");
    const file = outside();
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, CONTENT).catch(() => undefined);

    const removal = deleteBackupFiles(backupAt(listed, file), deployment());
    await expect(removal).rejects.toThrow(RefusedDeleteError);
    await expect(removal).rejects.toThrow("it is outside the deployment's target folders");
    expect(await exists(listed)).toBe(true);
    expect(await exists(file)).toBe(true);
  });

  it("refuses a location a symbolic link leads out of the folder", async () => {
    const outside = path.join(work, "precious");
    await mkdir(outside);
    await writeFile(path.join(outside, "data.gz"), CONTENT);
    await symlink(outside, path.join(folder, "link"));

    await expect(
      deleteBackupFiles(backupAt(path.join(folder, "link", "data.gz")), deployment()),
    ).rejects.toThrow("a symbolic link leads it out of the target folder");
    expect(await exists(path.join(outside, "data.gz"))).toBe(true);
  });

  it("refuses a file that is not the backup's: another size, or not a regular file", async () => {
    const other = await stored("ledger-000007-bak_1.tar.gz", "something else entirely\n");
    await expect(deleteBackupFiles(backupAt(other), deployment())).rejects.toThrow(
      /it holds 24 bytes, the backup 13: it is not this backup's file/,
    );
    expect(await exists(other)).toBe(true);

    const directory = path.join(folder, "ledger-000009-bak_3.tar.gz");
    await mkdir(directory);
    await expect(deleteBackupFiles(backupAt(directory), deployment())).rejects.toThrow(
      "it is not a regular file",
    );
    expect(await exists(directory)).toBe(true);
  });

  it("refuses a location that is not a file:// URL", async () => {
    const backup = { ...backupAt(), locations: ["s3://bucket/ledger/ledger-000007.tar.gz"] };
    await expect(deleteBackupFiles(backup, deployment())).rejects.toThrow(
      "this agent removes file:// locations only",
    );
  });
});
