// What tests and other packages import: the app factory and the job table's types.
export { createScriptAgentApp, type ScriptAgentOptions } from "./server";
export type { BackupJob, BackupRequest } from "./backup-jobs";
export { BACKUP_PHASES, type BackupPhase } from "./phases";
