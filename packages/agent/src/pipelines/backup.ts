import path from "node:path";
import type { components } from "@stowage/agent-client";
import {
  backupPath,
  locationOf,
  removeStalePartials,
  writeFilesAtomically,
} from "../targets/file-target";
import { artifactSuffix, encodingStages, type ArtifactFormat } from "./artifact-format";
import { databaseEngines } from "./database-engines";
import { dumpedDatabase } from "./database-server";
import { createDigestStream } from "./digest-stream";
import { archiveFiles } from "./files";
import { PhaseClock } from "./phase-clock";
import { snapshotSqlite } from "./sqlite";

type Schemas = components["schemas"];
export type BackupDeployment =
  | Schemas["DeploymentSqlite"]
  | Schemas["DeploymentFiles"]
  | Schemas["DeploymentPostgres"]
  | Schemas["DeploymentMysql"];
export type ResultManifest = Schemas["ResultManifest"];

export interface BackupRequest {
  deployment: BackupDeployment;
  backup: { id: string; sequence: number };
  /** Names of the deployment's targets to use (the job's `targets`); all when absent. */
  targets?: string[];
  signal?: AbortSignal;
  /** Called as bytes are stored, for progress reports. */
  onBytes?: (phase: string, bytesStored: number) => void;
  /** Called with each stderr line of a dump tool, for the job's log. */
  onToolStderr?: (phase: string, line: string) => void;
  /** Temp files in the target folder older than this are removed first (see removeStalePartials). */
  staleTempAfterMs?: number;
  /** Called with each stale temp file removed, for the job's log. */
  onStaleTempRemoved?: (file: string) => void;
}

const EXTENSIONS: Record<BackupDeployment["kind"], string> = {
  sqlite: ".sqlite",
  files: ".tar",
  postgres: ".sql",
  mysql: ".sql",
};

export function formatOf(deployment: BackupDeployment): ArtifactFormat {
  return {
    compression: deployment.compression.algorithm,
    gzipLevel: deployment.compression.level,
    encryption: deployment.encryption,
  };
}

/**
 * Takes one backup: the deployment's bytes -> gzip -> encryption -> sha256 -> every selected file
 * target, one stream pipeline with nothing held whole in memory. The source is read once and the
 * encoded stream teed into each target's atomic writer (writeFilesAtomically), rather than written
 * once and copied: a copy would read the first target back and double its I/O, and one digest
 * covers every copy because they are the same bytes. Answers the manifest the job completes with:
 * the first target's copy as `location`, the others as `copies`, so the catalog lists (and a
 * delete job removes) every one.
 */
export async function takeBackup(request: BackupRequest): Promise<ResultManifest> {
  const { deployment, backup } = request;
  const targets = chooseTargets(deployment, request.targets);
  const format = formatOf(deployment);
  const fileName = `${deployment.name}-${String(backup.sequence).padStart(6, "0")}-${backup.id}${EXTENSIONS[deployment.kind]}${artifactSuffix(format)}`;
  // Two targets may share a folder: one file there, not two writers racing for its name.
  const copies = new Map<string, string>();
  for (const target of targets) {
    const finalPath = backupPath(target.path, deployment.name, fileName);
    if (!copies.has(finalPath)) copies.set(finalPath, target.name);
  }
  const finalPaths = [...copies.keys()];
  if (request.staleTempAfterMs !== undefined) {
    for (const finalPath of finalPaths) {
      const removed = await removeStalePartials(path.dirname(finalPath), request.staleTempAfterMs);
      removed.forEach((file) => request.onStaleTempRemoved?.(file));
    }
  }
  const clock = new PhaseClock();
  const phase = deployment.kind === "sqlite" ? "upload" : "dump";
  const digest = createDigestStream((bytes) => request.onBytes?.(phase, bytes));

  const store = async (source: NodeJS.ReadableStream, check?: () => Promise<void>) =>
    writeFilesAtomically(finalPaths, [source, ...(await encodingStages(format)), digest], {
      signal: request.signal,
      check,
    });

  if (deployment.kind === "sqlite") {
    const snapshot = await clock.time("snapshot", () => snapshotSqlite(deployment.connection.path));
    try {
      await clock.time("upload", () => store(snapshot.stream()));
    } finally {
      await snapshot.dispose();
    }
  } else if (deployment.kind === "files") {
    // tar reads the tree while the pipeline stores it, so dump and upload are one phase.
    await clock.time(phase, () => store(archiveFiles(deployment.connection)));
  } else {
    const engine = databaseEngines[deployment.kind];
    const address = dumpedDatabase(deployment, engine.defaultPort);
    await clock.time(phase, async () => {
      const dump = await engine.dump(address, {
        signal: request.signal,
        onStderr: (line) => request.onToolStderr?.(phase, line),
      });
      try {
        // A dump that ends in an error may still have written a plausible prefix: only a clean
        // exit lets the file take its final name.
        await store(dump.stdout, () => dump.exited);
      } catch (error) {
        // A failed write leaves the tool blocked on a full pipe otherwise.
        dump.kill();
        throw error;
      }
    });
  }
  const { sha256, sizeBytes } = digest.result();
  return {
    size_bytes: sizeBytes,
    sha256,
    location: locationOf(finalPaths[0]),
    target: targets[0].name,
    ...(finalPaths.length > 1
      ? {
          copies: finalPaths.slice(1).map((finalPath) => ({
            location: locationOf(finalPath),
            target: copies.get(finalPath),
          })),
        }
      : {}),
    compression: format.compression,
    ...(format.encryption ? { encryption: format.encryption } : {}),
    ...clock.finish(),
  };
}

/**
 * The file targets a backup is written to: the job's selection, else all of the deployment's.
 * A named target the deployment lacks, or one of a type this agent cannot write, fails the backup
 * rather than being skipped: a backup missing a copy the operator asked for is not one they chose.
 */
function chooseTargets(
  deployment: BackupDeployment,
  names: string[] | undefined,
): [Schemas["TargetV2File"], ...Schemas["TargetV2File"][]] {
  const missing = (names ?? []).filter(
    (name) => !deployment.targets.some((target) => target.name === name),
  );
  if (missing.length > 0) {
    throw new Error(`deployment ${deployment.name} has no target named ${missing.join(", ")}`);
  }
  const selected = names
    ? deployment.targets.filter((target) => names.includes(target.name))
    : deployment.targets;
  const files: Schemas["TargetV2File"][] = [];
  for (const target of selected) {
    if (target.type !== "file") {
      throw new Error(
        `target ${target.name} is of type ${target.type}; this agent writes file targets only`,
      );
    }
    files.push(target);
  }
  const [first, ...rest] = files;
  if (!first) throw new Error(`deployment ${deployment.name} has no target to write to`);
  return [first, ...rest];
}
