/** The Zeebe backup states, for a part and, aggregated, for a backup. */
export type BackupState =
  "DOES_NOT_EXIST" | "IN_PROGRESS" | "COMPLETED" | "FAILED" | "INCOMPLETE" | "INCOMPATIBLE";

export const BACKUP_STATES: readonly BackupState[] = [
  "DOES_NOT_EXIST",
  "IN_PROGRESS",
  "COMPLETED",
  "FAILED",
  "INCOMPLETE",
  "INCOMPATIBLE",
];

/**
 * A backup's state from its parts, as Zeebe aggregates partition states (DESIGN 6): no parts ->
 * DOES_NOT_EXIST; all COMPLETED -> COMPLETED; else any FAILED -> FAILED; else any INCOMPATIBLE
 * -> INCOMPATIBLE; else any DOES_NOT_EXIST -> INCOMPLETE; else IN_PROGRESS.
 */
export function aggregateBackupState(parts: readonly { state: BackupState }[]): BackupState {
  if (parts.length === 0) return "DOES_NOT_EXIST";
  const states = new Set(parts.map((part) => part.state));
  if (states.size === 1 && states.has("COMPLETED")) return "COMPLETED";
  if (states.has("FAILED")) return "FAILED";
  if (states.has("INCOMPATIBLE")) return "INCOMPATIBLE";
  if (states.has("DOES_NOT_EXIST")) return "INCOMPLETE";
  return "IN_PROGRESS";
}
