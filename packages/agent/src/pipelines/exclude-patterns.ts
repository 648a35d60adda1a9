import path from "node:path";
import picomatch from "picomatch";

/** Answers whether an entry, by its path relative to its included root, is left out. */
export type ExcludeMatcher = (relativePath: string, isDirectory: boolean) => boolean;

/**
 * Compiles a `files` deployment's `exclude` globs with the rules tar and rsync users expect:
 * - a pattern is matched against the path relative to the included root it was found under;
 * - one without a `/` matches an entry's name at any depth (`*.log`, `node_modules`);
 * - one with a `/` matches the whole relative path (a leading `/` only makes that explicit);
 * - a trailing `/` matches directories only;
 * - `*` and `?` never cross `/`, `**` does, and dot files are not special.
 * Node 20's `path.matchesGlob` is experimental (it prints a warning on every process) and skips dot
 * files on `*`, hence picomatch.
 */
export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const rules = patterns.map((pattern) => {
    const directoryOnly = pattern.length > 1 && pattern.endsWith("/");
    const body = pattern.replace(/\/+$/, "");
    const anchored = body.includes("/");
    const glob = body.replace(/^\/+/, "");
    return {
      directoryOnly,
      matches: picomatch(glob, { dot: true, basename: !anchored }),
    };
  });
  return (relativePath, isDirectory) =>
    rules.some((rule) => (!rule.directoryOnly || isDirectory) && rule.matches(relativePath));
}

/**
 * Maps a path as tar sees it (relative to `/`) to the path relative to the included root it lies
 * under, the longest root winning when one includes another; `undefined` for a root itself, which
 * was named explicitly and so is never excluded.
 */
export function relativeToRoot(entry: string, roots: readonly string[]): string | undefined {
  const normalized = pathKey(entry);
  let best: string | undefined;
  for (const root of roots.map(pathKey)) {
    const under = root === "" || normalized === root || normalized.startsWith(`${root}/`);
    if (under && (best === undefined || root.length > best.length)) best = root;
  }
  if (best === undefined) return undefined;
  const relative = best === "" ? normalized : normalized.slice(best.length + 1);
  return relative === "" ? undefined : relative;
}

/** A path relative to `/` without leading or trailing slashes (`""` for `/` itself). */
function pathKey(value: string): string {
  return path.posix.normalize(`/${value}`).replace(/^\/+|\/+$/g, "");
}
