import { BACKUP_STATES } from "../services/backup-state";
import type { Stores } from "../services/control-context";
import { duration } from "../services/doctor";
import type { JobSettings } from "../services/jobs-service";
import type { Metrics } from "./metrics";

const JOB_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"] as const;

/**
 * Agents by presence, jobs by status and backups by state, read from the store at scrape time.
 * Every label value is always present (0 when none), so a dashboard's series do not appear and
 * vanish. An agent counts as seen within the jobs service's offline threshold
 * (`--agent-offline-after-seconds`), so the gauge, the doctor and restores agree.
 */
export function registerCatalogMetrics(
  metrics: Metrics,
  stores: Stores,
  settings: Pick<JobSettings, "agentOfflineAfterMs">,
): void {
  metrics.gauge(
    "stowage_agents",
    `Agents: seen in the last ${duration(settings.agentOfflineAfterMs)}, not seen, revoked.`,
    ["state"],
    () => {
      const presence = stores.agents.presence(
        new Date(Date.now() - settings.agentOfflineAfterMs).toISOString(),
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
