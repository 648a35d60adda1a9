import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";

/** Every entry under `root` by its path relative to it: a file's contents, or "dir". */
export async function treeOf(root: string): Promise<Map<string, Buffer | "dir">> {
  const tree = new Map<string, Buffer | "dir">();
  for (const entry of (await readdir(root, { recursive: true })).sort()) {
    const full = path.join(root, entry);
    tree.set(entry, (await stat(full)).isDirectory() ? "dir" : await readFile(full));
  }
  return tree;
}
