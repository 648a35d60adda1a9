import { fileURLToPath } from "node:url";

/**
 * The control API takes a target's location as one URL (databacker's form, which v1 serves as
 * is); v2 spells it out in members. These split the URLs the control API's patterns admit.
 */

/** `file:///var/backups` -> `/var/backups`. */
export function fileTargetPath(url: string): string {
  return fileURLToPath(url);
}

/** `s3://bucket/orders` and `swift://container/orders` -> the bucket or container and `orders/`. */
export function containerAndPrefix(url: string): { container: string; prefix?: string } {
  const parsed = new URL(url);
  const path = segments(parsed.pathname);
  // The URL names a directory: objects live under `orders/`, not beside it as `orders*`.
  return {
    container: decodeURIComponent(parsed.hostname),
    ...(path.length > 0 ? { prefix: `${path.join("/")}/` } : {}),
  };
}

/** `smb://host:445/share/dir/sub` -> host, port, share and `dir/sub`. */
export function smbLocation(url: string): {
  host: string;
  port?: number;
  share: string;
  path?: string;
} {
  const parsed = new URL(url);
  const [share, ...path] = segments(parsed.pathname);
  if (share === undefined) throw new Error(`SMB target URL without a share: ${url}`);
  return {
    host: decodeURIComponent(parsed.hostname),
    ...(parsed.port ? { port: Number(parsed.port) } : {}),
    share,
    ...(path.length > 0 ? { path: path.join("/") } : {}),
  };
}

function segments(pathname: string): string[] {
  return pathname
    .split("/")
    .filter((segment) => segment !== "")
    .map((segment) => decodeURIComponent(segment));
}
