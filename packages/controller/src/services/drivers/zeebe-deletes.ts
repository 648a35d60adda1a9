import type { ZeebeBackupClient } from "@stowage/zeebe-backup-client";
import type { Logger } from "../../observability/logger";
import type { EventRow } from "../../store/events-store";
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
 * Best effort: a failed delete is retried after each of `retryDelaysMs` and then given up with an
 * error log; retries still waiting when the controller stops are lost. Either way the backup
 * stays on the cluster, where Zeebe's own list shows it and its DELETE removes it.
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
    this.unsubscribe ??= this.stores.eventHub.subscribe((message) => this.heard(message));
  }

  /** Stops listening and drops the waiting retries; answers once the deletes under way ended. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const retry of this.retries) clearTimeout(retry);
    this.retries.clear();
    await Promise.all(this.inFlight);
  }

  private heard(message: HubMessage): void {
    if (message.type === "event" && TOMBSTONE_OPS.has(message.event.op)) {
      this.attempt(message.event, 0);
    }
  }

  private attempt(event: EventRow, failures: number): void {
    const attempt = this.deleteOnCluster(event)
      .catch((error: unknown) => this.failed(event, failures, error))
      .finally(() => this.inFlight.delete(attempt));
    this.inFlight.add(attempt);
  }

  private failed(event: EventRow, failures: number, error: unknown): void {
    const delay = this.options.retryDelaysMs[failures];
    const context = { event: event.public_id, subject: JSON.parse(event.subject) as unknown };
    if (delay === undefined || this.unsubscribe === undefined) {
      this.options.logger.error(
        { ...context, err: error },
        "gave up deleting a tombstoned backup on its Zeebe cluster; it stays there",
      );
      return;
    }
    this.options.logger.warn(
      { ...context, err: error, retry_in_ms: delay },
      "could not delete a tombstoned backup on its Zeebe cluster; retrying",
    );
    const retry = setTimeout(() => {
      this.retries.delete(retry);
      this.attempt(event, failures + 1);
    }, delay);
    // A waiting retry must not keep a stopping process alive.
    retry.unref();
    this.retries.add(retry);
  }

  /** Read again on every attempt: the deployment's URL or password may have changed meanwhile. */
  private async deleteOnCluster(event: EventRow): Promise<void> {
    const backupId = (JSON.parse(event.subject) as { backup?: string }).backup;
    const deployment = event.deployment_id
      ? this.stores.deployments.byIdOrName(event.tenant_id, event.deployment_id)
      : undefined;
    if (!deployment || !backupId) return;
    const { driver } = settingsFromRow(deployment);
    if (driver.type !== "zeebe") return;
    const backup = this.stores.backups.byId(backupId, deployment.id);
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
