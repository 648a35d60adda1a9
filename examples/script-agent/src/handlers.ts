import type { ScriptAgentHandlers } from "@stowage/script-agent-server";
import type { Principal } from "./basic-auth";
import type { BackupJobs } from "./backup-jobs";

/**
 * The `Retry-After` of a 429 at the job limit. A slot frees when a running job ends, which the
 * agent cannot predict; the spec names no value, so ask for a retry soon.
 */
const RETRY_AFTER_SECONDS = 5;

type Implemented = "getStatus" | "triggerBackup" | "getBackupStatus" | "deleteBackupJob";

/** The status and backup operations; restore is left to the router, which answers it 410. */
export function backupHandlers(
  jobs: BackupJobs,
): Pick<ScriptAgentHandlers<Principal>, Implemented> {
  return {
    getStatus() {
      return { status: 200, body: { message: "Client is running" } };
    },
    triggerBackup({ body }) {
      const result = jobs.trigger(body);
      switch (result.outcome) {
        case "started":
          return { status: 201 };
        case "exists":
          return { status: 409, body: result.job };
        case "limit":
          return {
            status: 429,
            headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
            body: {
              message: "Failed to start a new job.",
              state: "Job reservation",
              error_message: "Spawning a new job would break the allowed running job limit.",
            },
          };
      }
    },
    getBackupStatus({ params }) {
      const job = jobs.get(params.id);
      return job ? { status: 200, body: job } : { status: 404 };
    },
    deleteBackupJob({ body }) {
      return jobs.delete(body.id) ? { status: 200 } : { status: 410 };
    },
  };
}
