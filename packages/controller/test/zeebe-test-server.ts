/**
 * A Zeebe gateway's backup management API (`compat/zeebe-backup.yaml`), in memory, built from the
 * generated router: what the Zeebe driver's tests run backups through. Each partition of a backup
 * is IN_PROGRESS until its turn comes (one `stepMs` after the previous one) and then COMPLETED, or
 * FAILED when the test said so, or all at once when the test finishes it; states are derived from
 * the clock on every read, so the server keeps no timers. It can go down and come back on the same
 * URL with its backups, as a gateway restart does.
 */
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import {
  createZeebeBackupRouter,
  type components,
  type ZeebeBackupHandlers,
} from "@stowage/zeebe-backup-server";
import { aggregateBackupState } from "../src/services/backup-state";

type BackupInfo = components["schemas"]["BackupInfo"];
type PartitionBackupInfo = components["schemas"]["PartitionBackupInfo"];

/** The gateway's base path (the spec's server URL). */
export const ZEEBE_BACKUP_PATH = "/actuator/backups";
const BROKER_VERSION = "8.5.0";

export interface ZeebeTestServerOptions {
  partitions?: number;
  /** How long each partition takes after the previous one. */
  stepMs?: number;
}

export interface ZeebeTestServer {
  /** The backup API's base URL, as a `zeebe` deployment's `driver.url` names it. */
  url: string;
  /** Backups taken from now on fail on this partition, with this reason. */
  failPartition(partitionId: number, reason: string): void;
  /** Every partition of this backup not yet ended ends now. */
  finish(backupId: number): void;
  /** Stops answering (connections refused) and keeps the backups, until `comeBack`. */
  goDown(): Promise<void>;
  /** Answers again on the same URL. */
  comeBack(): Promise<void>;
  /** The ids taken, in order, deleted ones included. */
  readonly taken: readonly number[];
  /** The ids still held (not deleted). */
  held(): number[];
  close(): Promise<void>;
}

interface StoredBackup {
  id: number;
  takenAt: number;
  finishedAt?: number;
  failing?: { partitionId: number; reason: string };
}

export async function startZeebeTestServer(
  options: ZeebeTestServerOptions = {},
): Promise<ZeebeTestServer> {
  const partitions = options.partitions ?? 3;
  const stepMs = options.stepMs ?? 100;
  const backups = new Map<number, StoredBackup>();
  const taken: number[] = [];
  let failing: StoredBackup["failing"];

  const handlers: ZeebeBackupHandlers = {
    takeBackup({ body }) {
      const last = taken[taken.length - 1];
      // Zeebe orders backups by id: a new one must be higher than every earlier one, deleted
      // ones included (the checkpoint id only grows).
      if (last !== undefined && body.backupId <= last) {
        return {
          status: 409,
          body: {
            message: `A backup with id ${body.backupId} cannot be taken: a backup with id ${last} already exists, expected a higher id.`,
          },
        };
      }
      taken.push(body.backupId);
      backups.set(body.backupId, { id: body.backupId, takenAt: Date.now(), failing });
      return {
        status: 202,
        body: {
          message: `A backup with id ${body.backupId} has been scheduled. Use GET actuator/backups/${body.backupId} to monitor the status.`,
        },
      };
    },
    getBackup({ params }) {
      const backup = backups.get(params.backupId);
      if (!backup) {
        return { status: 404, body: { message: `No backup with id ${params.backupId} found.` } };
      }
      return { status: 200, body: infoOf(backup, partitions, stepMs) };
    },
    listBackups() {
      const infos = [...backups.values()]
        .sort((a, b) => b.id - a.id)
        .map((backup) => infoOf(backup, partitions, stepMs));
      return { status: 200, body: infos };
    },
    deleteBackup({ params }) {
      backups.delete(params.backupId);
      return { status: 204 };
    },
  };

  const router = createZeebeBackupRouter(handlers, { validateResponses: true });
  await router.ready();
  const app = express();
  app.disable("x-powered-by");
  app.use(ZEEBE_BACKUP_PATH, router);
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${ZEEBE_BACKUP_PATH}`,
    failPartition(partitionId, reason) {
      failing = { partitionId, reason };
    },
    finish(backupId) {
      const backup = backups.get(backupId);
      if (!backup) throw new Error(`no backup ${backupId} to finish`);
      backup.finishedAt = Date.now();
    },
    goDown: () => stopListening(server),
    async comeBack() {
      server.listen(port, "127.0.0.1");
      await once(server, "listening");
    },
    taken,
    held: () => [...backups.keys()],
    close: () => stopListening(server),
  };
}

async function stopListening(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function infoOf(backup: StoredBackup, partitions: number, stepMs: number): BackupInfo {
  const now = Date.now();
  const details = Array.from({ length: partitions }, (_, index) =>
    partitionInfo(backup, index + 1, stepMs, now),
  );
  const failed = details.find((detail) => detail.state === "FAILED");
  return {
    backupId: backup.id,
    state: aggregateBackupState(details),
    ...(failed ? { failureReason: failed.failureReason } : {}),
    details,
  };
}

function partitionInfo(
  backup: StoredBackup,
  partitionId: number,
  stepMs: number,
  now: number,
): PartitionBackupInfo {
  const createdAt = new Date(backup.takenAt).toISOString();
  const endsAt = Math.min(backup.takenAt + stepMs * partitionId, backup.finishedAt ?? Infinity);
  const base = {
    partitionId,
    createdAt,
    checkpointPosition: backup.id * 10 + partitionId,
    brokerId: partitionId - 1,
    brokerVersion: BROKER_VERSION,
  };
  if (now < endsAt) return { ...base, state: "IN_PROGRESS", lastUpdatedAt: createdAt };
  const lastUpdatedAt = new Date(endsAt).toISOString();
  if (backup.failing?.partitionId === partitionId) {
    return { ...base, state: "FAILED", failureReason: backup.failing.reason, lastUpdatedAt };
  }
  return {
    ...base,
    state: "COMPLETED",
    failureReason: "",
    lastUpdatedAt,
    snapshotId: `${backup.id}-${partitionId}-${backup.id * 10 + partitionId}`,
  };
}
