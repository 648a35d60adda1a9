import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { GeneratedFile } from "../generate";

export interface StaleReport {
  /** Files whose content differs from what the spec generates, or that are missing. */
  changed: string[];
  /** Files in a generated folder that the spec no longer generates. */
  orphaned: string[];
}

/** Writes what changed and removes orphans, so a generated folder holds exactly what the spec generates. */
export async function writeGenerated(files: GeneratedFile[]): Promise<StaleReport> {
  const report = await compareGenerated(files);
  const byPath = new Map(files.map((file) => [file.path, file.content]));
  for (const file of report.changed) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, byPath.get(file) ?? "");
  }
  for (const file of report.orphaned) await rm(file, { recursive: true });
  return report;
}

export async function compareGenerated(files: GeneratedFile[]): Promise<StaleReport> {
  const changed: string[] = [];
  await Promise.all(
    files.map(async (file) => {
      const current = await readFile(file.path, "utf8").catch(() => undefined);
      if (current !== file.content) changed.push(file.path);
    }),
  );
  const expected = new Set(files.map((file) => file.path));
  const folders = [...new Set(files.map((file) => path.dirname(file.path)))];
  const orphaned: string[] = [];
  for (const folder of folders) {
    const entries = await readdir(folder).catch(() => [] as string[]);
    for (const entry of entries) {
      const full = path.join(folder, entry);
      if (!expected.has(full)) orphaned.push(full);
    }
  }
  return { changed: changed.sort(), orphaned: orphaned.sort() };
}
