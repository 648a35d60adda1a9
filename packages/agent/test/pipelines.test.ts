import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import type { components } from "@stowage/agent-client";
import { takeBackup, type BackupDeployment } from "../src/pipelines/backup";
import { restoreBackup } from "../src/pipelines/restore";
import { ChecksumMismatchError, type BackupRef } from "../src/pipelines/stored-backup";
import { verifyBackup } from "../src/pipelines/verify";
import { removeStalePartials, writeFileAtomically } from "../src/targets/file-target";

type Schemas = components["schemas"];

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), "stowage-agent-test-"));
});
afterEach(async () => {
  delete process.env.STOWAGE_TEST_KEY;
  await rm(work, { recursive: true, force: true });
});

function makeDatabase(file: string, rows: number): void {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL, qty INTEGER)");
  const insert = db.prepare("INSERT INTO orders (item, qty) VALUES (?, ?)");
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`item-${i}-${randomBytes(8).toString("hex")}`, i);
  })();
  db.close();
}

function rowsOf(file: string): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT * FROM orders ORDER BY id").all();
  } finally {
    db.close();
  }
}

function common(encryption?: Schemas["EncryptionSettings"]) {
  return {
    schedules: [],
    targets: [{ type: "file" as const, name: "disk", path: path.join(work, "backups") }],
    retention: {},
    compression: { algorithm: "gzip" as const },
    ...(encryption ? { encryption } : {}),
  };
}

function refOf(manifest: Schemas["ResultManifest"]): BackupRef {
  return {
    id: "bak_1",
    sequence: 1,
    location: manifest.location,
    sha256: manifest.sha256,
    size_bytes: manifest.size_bytes,
    compression: manifest.compression,
    encryption: manifest.encryption,
  };
}

async function sha256Of(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

async function sqliteBackup(): Promise<{ manifest: Schemas["ResultManifest"]; source: string }> {
  const source = path.join(work, "app.db");
  makeDatabase(source, 5000);
  const keyFile = path.join(work, "backup.key");
  await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
  const deployment: BackupDeployment = {
    name: "app-db",
    kind: "sqlite",
    connection: { path: source },
    ...common({ algorithm: "aes-256-gcm", key_ref: `file:${keyFile}` }),
  };
  const manifest = await takeBackup({ deployment, backup: { id: "bak_1", sequence: 1 } });
  return { manifest, source };
}

describe("sqlite backup and restore", () => {
  it("round-trips through gzip and encryption, with the stored file's sha256 in the manifest", async () => {
    const { manifest, source } = await sqliteBackup();
    const stored = fileURLToPath(manifest.location);
    expect(path.basename(stored)).toBe("app-db-000001-bak_1.sqlite.gz.enc");
    expect(manifest.sha256).toBe(await sha256Of(stored));
    expect(manifest.size_bytes).toBe((await readFile(stored)).length);
    expect(manifest.compression).toBe("gzip");
    expect(manifest.timings.map((timing) => timing.phase)).toEqual(["snapshot", "upload"]);

    const destination = path.join(work, "restored", "app.db");
    await restoreBackup({ kind: "sqlite", backup: refOf(manifest), destination, force: false });
    expect(rowsOf(destination)).toEqual(rowsOf(source));
  });

  it("refuses a stored file whose checksum does not match, before writing anything", async () => {
    const { manifest } = await sqliteBackup();
    const stored = fileURLToPath(manifest.location);
    const bytes = await readFile(stored);
    bytes[100] ^= 0xff;
    await writeFile(stored, bytes);

    const destination = path.join(work, "restored", "app.db");
    await expect(
      restoreBackup({ kind: "sqlite", backup: refOf(manifest), destination, force: false }),
    ).rejects.toBeInstanceOf(ChecksumMismatchError);
    await expect(readdir(path.join(work, "restored"))).rejects.toThrow(/ENOENT/);
  });

  it("reports the digest it read from a stored file that does not match, for the controller to judge", async () => {
    const { manifest } = await sqliteBackup();
    const stored = fileURLToPath(manifest.location);
    const bytes = await readFile(stored);
    bytes[100] ^= 0xff;
    await writeFile(stored, bytes);

    const verified = await verifyBackup(refOf(manifest));
    expect(verified).toMatchObject({ sha256: await sha256Of(stored), size_bytes: bytes.length });
    expect(verified.sha256).not.toBe(manifest.sha256);
    // The decoding read is skipped: a damaged stream would fail it with a less useful error.
    expect(verified.timings.map((timing) => timing.phase)).toEqual(["verify"]);
  });

  it("refuses a non-empty destination unless forced", async () => {
    const { manifest, source } = await sqliteBackup();
    const destination = path.join(work, "occupied.db");
    await writeFile(destination, "something precious");
    await expect(
      restoreBackup({ kind: "sqlite", backup: refOf(manifest), destination, force: false }),
    ).rejects.toThrow(/not empty/);
    expect(await readFile(destination, "utf8")).toBe("something precious");
    await restoreBackup({ kind: "sqlite", backup: refOf(manifest), destination, force: true });
    expect(rowsOf(destination)).toEqual(rowsOf(source));
  });

  it("verifies a sound backup by reading it back", async () => {
    const { manifest } = await sqliteBackup();
    const verified = await verifyBackup(refOf(manifest));
    expect(verified.sha256).toBe(manifest.sha256);
    expect(verified.size_bytes).toBe(manifest.size_bytes);
  });
});

describe("files backup and restore", () => {
  it("round-trips a tree through tar, gzip and encryption (key from the environment)", async () => {
    const tree = path.join(work, "site");
    await mkdir(path.join(tree, "nested", "deeper"), { recursive: true });
    const big = randomBytes(300_000);
    await writeFile(path.join(tree, "nested", "deeper", "big.bin"), big);
    await writeFile(path.join(tree, "readme.txt"), "hello");
    process.env.STOWAGE_TEST_KEY = randomBytes(32).toString("base64");
    const deployment: BackupDeployment = {
      name: "site",
      kind: "files",
      connection: { paths: [tree] },
      ...common({ algorithm: "aes-256-gcm", key_ref: "env:STOWAGE_TEST_KEY" }),
    };
    const manifest = await takeBackup({ deployment, backup: { id: "bak_1", sequence: 1 } });
    expect(manifest.sha256).toBe(await sha256Of(fileURLToPath(manifest.location)));

    const destination = path.join(work, "restored");
    await restoreBackup({ kind: "files", backup: refOf(manifest), destination, force: false });
    const restoredTree = path.join(destination, tree.replace(/^\/+/, ""));
    expect(await readFile(path.join(restoredTree, "nested", "deeper", "big.bin"))).toEqual(big);
    expect(await readFile(path.join(restoredTree, "readme.txt"), "utf8")).toBe("hello");
    // No temp directory left beside the destination.
    expect((await readdir(work)).filter((name) => name.includes("partial"))).toEqual([]);
  });
});

describe("atomic writes to a file target", () => {
  it("leaves neither the final file nor a temp file when the pipeline fails", async () => {
    const directory = path.join(work, "target");
    const finalPath = path.join(directory, "backup.gz");
    let sent = 0;
    const failing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        callback(sent > 100_000 ? new Error("disk on fire") : null, chunk);
      },
    });
    const source = Readable.from(Array.from({ length: 50 }, () => randomBytes(10_000)));
    await expect(writeFileAtomically(finalPath, [source, failing])).rejects.toThrow(/disk on fire/);
    expect(await readdir(directory)).toEqual([]);
  });

  it("removes temp files untouched for longer than the lease, and nothing else", async () => {
    const directory = path.join(work, "target");
    await mkdir(directory);
    const stale = path.join(directory, ".orders-000001.sql.gz.partial-0a1b2c");
    const fresh = path.join(directory, ".orders-000002.sql.gz.partial-3d4e5f");
    const finalOld = path.join(directory, "orders-000000.sql.gz");
    for (const file of [stale, fresh, finalOld]) await writeFile(file, "bytes");
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(stale, hourAgo, hourAgo);
    await utimes(finalOld, hourAgo, hourAgo);

    expect(await removeStalePartials(directory, 90_000)).toEqual([stale]);
    expect((await readdir(directory)).sort()).toEqual(
      [path.basename(fresh), path.basename(finalOld)].sort(),
    );
    expect(await removeStalePartials(path.join(work, "absent"), 90_000)).toEqual([]);
  });

  it("writes the whole file under its final name when the pipeline succeeds", async () => {
    const finalPath = path.join(work, "target", "backup.bin");
    const data = randomBytes(123_456);
    await writeFileAtomically(finalPath, [Readable.from([data])]);
    expect(await readFile(finalPath)).toEqual(data);
    expect(await readdir(path.dirname(finalPath))).toEqual(["backup.bin"]);
  });
});
