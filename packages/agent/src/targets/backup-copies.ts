import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { components } from "@stowage/agent-client";
import { backupPath, locationOf } from "./file-target";

interface DeploymentTargets {
  name: string;
  targets: components["schemas"]["TargetV2"][];
}

/**
 * Every place a stored backup may have a copy: its location, then the same file name in each of
 * the deployment's file target folders. A backup is written to each of its file targets under one
 * name, but the agent API's manifest and BackupRef carry a single location, so the catalog knows
 * the first copy only; the others are found by name. The name holds the backup's id, and every
 * read checks the manifest's sha256, so a file found this way is never taken for another backup.
 */
export function copyLocations(deployment: DeploymentTargets, location: string): string[] {
  if (!location.startsWith("file:")) return [location];
  const fileName = path.basename(fileURLToPath(location));
  const copies = deployment.targets
    .filter((target) => target.type === "file")
    .map((target) => locationOf(backupPath(target.path, deployment.name, fileName)));
  return [...new Set([location, ...copies])];
}

/**
 * The first copy (see copyLocations) that exists as a file, for a restore or verify; the
 * backup's own location when none does, so the read fails naming the location the catalog holds.
 */
export async function firstExistingCopy(
  deployment: DeploymentTargets,
  location: string,
): Promise<string> {
  for (const candidate of copyLocations(deployment, location)) {
    if (!candidate.startsWith("file:")) continue;
    const info = await stat(fileURLToPath(candidate)).catch(() => undefined);
    if (info?.isFile()) return candidate;
  }
  return location;
}
