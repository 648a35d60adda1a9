/** The scripts of a backup job, in the order the agent runs them (the spec's `BackupState`). */
export const BACKUP_PHASES = [
  "pre-backup-lock",
  "pre-backup-check",
  "backup",
  "backup-cleanup",
  "post-backup-unlock",
] as const;

export type BackupPhase = (typeof BACKUP_PHASES)[number];

type Underscored<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}_${Underscored<Tail>}`
  : S;

/** The poll body's fields for a phase's stdout and stderr: `pre_backup_lock_log`, `..._errorlog`. */
export type PhaseLogField = `${Underscored<BackupPhase>}_${"log" | "errorlog"}`;

export function phaseLogFields(phase: BackupPhase): {
  log: PhaseLogField;
  errorlog: PhaseLogField;
} {
  const stem = phase.replaceAll("-", "_") as Underscored<BackupPhase>;
  return { log: `${stem}_log`, errorlog: `${stem}_errorlog` };
}
