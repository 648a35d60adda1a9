import path from "node:path";
import type { components } from "@stowage/agent-client";
import {
  backupPath,
  locationOf,
  removeStalePartials,
  writeFileAtomically,
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
 * Takes one backup: the deployment's bytes -> gzip -> encryption -> sha256 -> the file target,
 * one stream pipeline with nothing held whole in memory. Answers the manifest the job completes with.
 */
export async function takeBackup(request: BackupRequest): Promise<ResultManifest> {
  const { deployment, backup } = request;
  const target = chooseTarget(deployment, request.targets);
  const format = formatOf(deployment);
  const fileName = `${deployment.name}-${String(backup.sequence).padStart(6, "0")}-${backup.id}${EXTENSIONS[deployment.kind]}${artifactSuffix(format)}`;
  const finalPath = backupPath(target.path, deployment.name, fileName);
  if (request.staleTempAfterMs !== undefined) {
    const removed = await removeStalePartials(path.dirname(finalPath), request.staleTempAfterMs);
    removed.forEach((file) => request.onStaleTempRemoved?.(file));
  }
  const clock = new PhaseClock();
  const phase = deployment.kind === "sqlite" ? "upload" : "dump";
  const digest = createDigestStream((bytes) => request.onBytes?.(phase, bytes));

  const store = async (source: NodeJS.ReadableStream, check?: () => Promise<void>) =>
    writeFileAtomically(finalPath, [source, ...(await encodingStages(format)), digest], {
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
    location: locationOf(finalPath),
    target: target.name,
    compression: format.compression,
    ...(format.encryption ? { encryption: format.encryption } : {}),
    ...clock.finish(),
  };
}

/**
 * The one file target a backup is written to. The manifest names one location, so the first
 * selected file target is used; copying to further targets is not done yet, and other target
 * types are refused rather than skipped.
 */
function chooseTarget(
  deployment: BackupDeployment,
  names: string[] | undefined,
): Schemas["TargetV2File"] {
  const selected = names
    ? deployment.targets.filter((target) => names.includes(target.name))
    : deployment.targets;
  const target = selected[0];
  if (!target) throw new Error(`deployment ${deployment.name} has no target named ${names}`);
  if (target.type !== "file") {
    throw new Error(
      `target ${target.name} is of type ${target.type}; this agent writes file targets only`,
    );
  }
  return target;
}
