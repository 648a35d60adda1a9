import { createHash, generateKeyPairSync } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { createGzip } from "node:zlib";
import {
  accessTokenProvider,
  createAgentClient,
  StowageApiError,
  type AgentClient,
  type components,
} from "@stowage/agent-client";

type Schemas = components["schemas"];
export type JobOutcome = "idle" | "succeeded" | "failed" | "cancelled";

export interface QuickstartAgent {
  instance: string;
  client: AgentClient;
}

/**
 * Enrolls a fresh P-256 key with a one-time token. The private key stays in memory only, so a
 * restarted agent needs a new enrollment (the reference agent keeps it in a 0600 state file).
 */
export async function enroll(baseUrl: string, enrollmentToken: string): Promise<QuickstartAgent> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const anonymous = createAgentClient({ baseUrl, throwOnError: true });
  const { data } = await anonymous.POST("/engines/enroll", {
    body: {
      enrollment_token: enrollmentToken,
      public_key: publicKey.export({ type: "spki", format: "pem" }).toString(),
      agent_version: "quickstart-agent/0.1.0",
    },
  });
  if (!data) throw new Error("enrollment answered without a body");
  const credentials = { instance: data.instance, privateKey, keyThumbprint: data.key_thumbprint };
  // Signs an ES256 client assertion per mint and reuses the access token until shortly before it expires.
  const auth = accessTokenProvider({ tokenUrl: data.endpoints.token, credentials });
  return {
    instance: data.instance,
    client: createAgentClient({ baseUrl, auth, throwOnError: true }),
  };
}

/** Long-polls up to `waitSeconds` for one backup job and runs it to a completion report. */
export async function runOneJob(
  agent: QuickstartAgent,
  waitSeconds: number,
  signal?: AbortSignal,
): Promise<JobOutcome> {
  const { data: job } = await agent.client.POST("/engines/jobs/{instance}/claim", {
    params: { path: { instance: agent.instance }, query: { wait: waitSeconds } },
    // Only backups: a restore or verify this agent cannot do is better left to another agent.
    body: { kinds: ["backup"] },
    signal,
  });
  if (!job) return "idle"; // 204: nothing queued within the wait
  const params = { path: { instance: agent.instance, job: job.id } };
  try {
    if (job.kind !== "backup") throw new Error(`this agent takes backup jobs, not ${job.kind}`);
    const manifest = await copyWithDigest(agent, job);
    await agent.client.POST("/engines/jobs/{instance}/{job}/complete", {
      params,
      body: { outcome: "succeeded", manifest },
    });
    return "succeeded";
  } catch (error) {
    // 409: the job was cancelled or its lease went to another attempt; it takes no completion now.
    if (error instanceof StowageApiError && error.status === 409) return "cancelled";
    const message = error instanceof Error ? error.message : String(error);
    await agent.client.POST("/engines/jobs/{instance}/{job}/complete", {
      params,
      body: { outcome: "failed", finished_at: new Date().toISOString(), message },
    });
    return "failed";
  }
}

/** Copies the deployment's one file to its file target (gzipped if asked), digesting what is stored. */
async function copyWithDigest(
  agent: QuickstartAgent,
  job: Schemas["BackupJob"],
): Promise<Schemas["ResultManifest"]> {
  const startedAt = new Date();
  // The job names only the deployment: which file and which target are in the v2 config.
  const { data: config } = await agent.client.requestAs(
    "get",
    "/engines/config/{instance}",
    "application/vnd.stowage.agent-config.v2+json",
    { params: { path: { instance: agent.instance } } },
  );
  const deployment = config?.deployments.find((candidate) => candidate.name === job.deployment);
  // Anything this agent cannot honour fails the job: a backup without its encryption or
  // exclusions would not be the backup the operator asked for.
  if (deployment?.kind !== "files" || deployment.connection.paths.length !== 1) {
    throw new Error(`${job.deployment}: this agent backs up files deployments of exactly one path`);
  }
  if (deployment.encryption || deployment.connection.exclude?.length) {
    throw new Error(`${job.deployment}: this agent does not encrypt or exclude`);
  }
  const target = deployment.targets.find(
    (candidate): candidate is Schemas["TargetV2File"] =>
      candidate.type === "file" && (!job.targets || job.targets.includes(candidate.name)),
  );
  if (!target) throw new Error(`${job.deployment}: no file target selected`);
  const source = deployment.connection.paths[0];
  // lstat, not stat: a symlink or a directory is not the one regular file this agent copies.
  const info = await lstat(source);
  if (!info.isFile()) throw new Error(`${source} is not a regular file`);

  // One report, which also extends the lease; a 409 here means cancelled (see runOneJob).
  await agent.client.POST("/engines/jobs/{instance}/{job}/progress", {
    params: { path: { instance: agent.instance, job: job.id } },
    body: { seq: 0, at: new Date().toISOString(), phase: "copy", bytes_total: info.size },
  });

  const gzip = deployment.compression.algorithm === "gzip";
  const name = `${job.backup.sequence}-${job.backup.id}-${path.basename(source)}${gzip ? ".gz" : ""}`;
  const finalPath = path.join(target.path, deployment.name, name);
  // Hash the bytes on their way to disk: the manifest's sha256 and size are of what is stored.
  const hash = createHash("sha256");
  let size = 0;
  const digest = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // Written under a temporary name and renamed at the end, so a failed copy leaves no backup-looking file.
  const partialPath = `${finalPath}.partial`;
  const copyStarted = Date.now();
  await mkdir(path.dirname(finalPath), { recursive: true });
  try {
    await pipeline([
      createReadStream(source),
      ...(gzip ? [createGzip({ level: deployment.compression.level })] : []),
      digest,
      // Truncates what a crashed earlier attempt of this backup may have left.
      createWriteStream(partialPath),
    ]);
    await rename(partialPath, finalPath);
  } catch (error) {
    await rm(partialPath, { force: true });
    throw error;
  }
  return {
    size_bytes: size,
    sha256: hash.digest("hex"),
    location: pathToFileURL(finalPath).href,
    target: target.name,
    compression: gzip ? "gzip" : "none",
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    timings: [{ phase: "copy", duration_ms: Date.now() - copyStarted }],
  };
}
