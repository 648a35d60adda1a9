import type { ZeebeBackupClient } from "@stowage/zeebe-backup-client";
import type { Logger } from "../../observability/logger";
import type { ZeebePendingDeleteRow } from "../../store/zeebe-deletes-store";
import type { Stores } from "../control-context";
import { secretsFromRow, settingsFromRow } from "../deployment-settings";
import type { HubMessage } from "../event-hub";
import { messageOf } from "./zeebe-run";

/** The catalog events that tombstone a backup: an operator's DELETE and retention's prune. */
const TOMBSTONE_OPS: ReadonlySet<string> = new Set(["backup_deleted", "backup_pruned"]);

export interface ZeebeDeletesOptions {
  logger: Logger;
  /** A client of a deployment's management API, as the backup runs use. */
  clientOf: (
    url: string,
    username: string | null,
    password: string | undefined,
  ) => ZeebeBackupClient;
  /** The waits before each retry of a failed delete; after the last, the delete is given up. */
  retryDelaysMs: readonly number[];
}

/**
 * Passes the catalog's tombstones of a `zeebe` deployment's backups on to its cluster
 * (`DELETE /{backupId}`): the catalog only marks a backup deleted, while the brokers' backup
 * store keeps it until the management API is told. It hears the tombstones on the event hub, so
 * the request goes out after the tombstone committed and never holds the catalog's transaction.
 *
 * Each delete is recorded (`zeebe_pending_deletes`) before its first attempt and forgotten once
 * the cluster took it, so one that failed, or was under way when the controller stopped, is
 * retried after a restart when it is due. A failed delete is retried after each of
 * `retryDelaysMs` and then given up with an error log: the backup stays on the cluster, where
 * Zeebe's own list shows it and its DELETE removes it.
 */
export class ZeebeCatalogDeletes {
  private unsubscribe: (() => void) | undefined;
  private readonly retries = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly stores: Stores,
    private readonly options: ZeebeDeletesOptions,
  ) {}

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.stores.eventHub.subscribe((message) => this.heard(message));
    for (const pending of this.stores.zeebeDeletes.all()) this.schedule(pending);
  }

  /** Stops listening, drops the timers (the deletes stay recorded), waits for those under way. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const retry of this.retries) clearTimeout(retry);
    this.retries.clear();
    await Promise.all(this.inFlight);
  }

  private heard(message: HubMessage): void {
    if (message.type !== "event" || !TOMBSTONE_OPS.has(message.event.op)) return;
    const { event } = message;
    const backupId = (JSON.parse(event.subject) as { backup?: string }).backup;
    const deployment = event.deployment_id
      ? this.stores.deployments.byIdOrName(event.tenant_id, event.deployment_id)
      : undefined;
    if (!deployment || !backupId || settingsFromRow(deployment).driver.type !== "zeebe") return;
    // The hub's message is a hint: the tombstone's transaction may have rolled back.
    if (!this.stores.backups.byId(backupId, deployment.id)?.deleted_at) return;
    const now = new Date().toISOString();
    const pending: ZeebePendingDeleteRow = {
      backup_id: backupId,
      tenant_id: event.tenant_id,
      deployment_id: deployment.id,
      event_id: event.public_id,
      failures: 0,
      next_attempt_at: now,
      last_error: null,
      created_at: now,
    };
    if (this.stores.zeebeDeletes.add(pending)) this.attempt(pending);
  }

  private schedule(pending: ZeebePendingDeleteRow): void {
    const retry = setTimeout(
      () => {
        this.retries.delete(retry);
        this.attempt(pending);
      },
      Math.max(0, Date.parse(pending.next_attempt_at) - Date.now()),
    );
    // A waiting retry must not keep a stopping process alive.
    retry.unref();
    this.retries.add(retry);
  }

  private attempt(pending: ZeebePendingDeleteRow): void {
    const attempt = this.deleteOnCluster(pending)
      .then(
        () => this.stores.zeebeDeletes.remove(pending.backup_id),
        (error: unknown) => this.failed(pending, error),
      )
      .catch((error: unknown) =>
        this.options.logger.error(
          { backup: pending.backup_id, err: error },
          "could not record the outcome of a Zeebe cluster delete",
        ),
      )
      .finally(() => this.inFlight.delete(attempt));
    this.inFlight.add(attempt);
  }

  /** Recorded even while stopping (the database closes after `stop`): the next start retries. */
  private failed(pending: ZeebePendingDeleteRow, error: unknown): void {
    const delay = this.options.retryDelaysMs[pending.failures];
    const context = { event: pending.event_id, backup: pending.backup_id, err: error };
    if (delay === undefined) {
      this.stores.zeebeDeletes.remove(pending.backup_id);
      this.options.logger.error(
        { ...context, failures: pending.failures + 1 },
        "gave up deleting a tombstoned backup on its Zeebe cluster; it stays there",
      );
      return;
    }
    const lastError = error instanceof Error ? error.message : String(error);
    const next: ZeebePendingDeleteRow = {
      ...pending,
      failures: pending.failures + 1,
      next_attempt_at: new Date(Date.now() + delay).toISOString(),
      last_error: lastError,
    };
    this.stores.zeebeDeletes.failed(next.backup_id, next.failures, next.next_attempt_at, lastError);
    this.options.logger.warn(
      { ...context, retry_in_ms: delay },
      "could not delete a tombstoned backup on its Zeebe cluster; retrying",
    );
    if (this.unsubscribe !== undefined) this.schedule(next);
  }

  /** Read again on every attempt: the deployment's URL or password may have changed meanwhile. */
  private async deleteOnCluster(pending: ZeebePendingDeleteRow): Promise<void> {
    const deployment = this.stores.deployments.byIdOrName(pending.tenant_id, pending.deployment_id);
    if (!deployment) return;
    const { driver } = settingsFromRow(deployment);
    if (driver.type !== "zeebe") return;
    const backup = this.stores.backups.byId(pending.backup_id, deployment.id);
    if (!backup) return;
    // The Zeebe id is the catalog's sequence, so on another cluster the same id is another
    // backup: only the cluster the backup's location names is asked, never whatever the
    // deployment points at now.
    const apiUrl = driver.url.replace(/\/+$/, "");
    const locations = JSON.parse(backup.locations) as { url: string }[];
    if (!locations.some((location) => location.url === `${apiUrl}/${backup.sequence}`)) {
      this.options.logger.info(
        { backup: backup.id, sequence: backup.sequence },
        "a tombstoned Zeebe backup is not on the deployment's cluster; nothing deleted there",
      );
      return;
    }
    const client = this.options.clientOf(
      driver.url,
      driver.username,
      secretsFromRow(deployment).driver?.password,
    );
    const { response, error } = await client.DELETE("/{backupId}", {
      params: { path: { backupId: backup.sequence } },
    });
    // 404: already gone (deleted on the cluster directly, or by an earlier attempt).
    if (!response.ok && response.status !== 404) {
      throw new Error(`Zeebe answered ${response.status}: ${messageOf(error)}`);
    }
    this.options.logger.info(
      { backup: backup.id, sequence: backup.sequence },
      "deleted a tombstoned backup on its Zeebe cluster",
    );
  }
}
