import { BACKUP_STATES } from "../services/backup-state";
import type { Stores } from "../services/control-context";
import type { Metrics } from "./metrics";

const JOB_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"] as const;

/**
 * Jobs by status and backups by state, read from the store at scrape time. Every label value is
 * always present (0 when none), so a dashboard's series do not appear and vanish.
 */
/** An agent not heard from for this long counts as unseen (the jobs service's offline threshold). */
const AGENT_SEEN_WITHIN_MS = 5 * 60_000;

export function registerCatalogMetrics(metrics: Metrics, stores: Stores): void {
  metrics.gauge(
    "stowage_agents",
    "Agents: seen in the last 5 minutes, not seen, revoked.",
    ["state"],
    () => {
      const presence = stores.agents.presence(
        new Date(Date.now() - AGENT_SEEN_WITHIN_MS).toISOString(),
      );
      return (["seen", "unseen", "revoked"] as const).map((state) => ({
        labels: { state },
        value: presence[state],
      }));
    },
  );
  metrics.gauge("stowage_jobs", "Jobs by status.", ["status"], () => {
    const counts = new Map(stores.jobs.countByStatus().map((row) => [row.status, row.count]));
    return JOB_STATUSES.map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
  });
  metrics.gauge(
    "stowage_backups",
    "Backups not tombstoned, by aggregated state.",
    ["state"],
    () => {
      const counts = new Map(stores.backups.countByState().map((row) => [row.state, row.count]));
      return BACKUP_STATES.map((state) => ({ labels: { state }, value: counts.get(state) ?? 0 }));
    },
  );
}
