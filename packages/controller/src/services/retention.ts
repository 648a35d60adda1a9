import type { BackupState } from "./backup-state";

/** The spec's RetentionPolicy: which COMPLETED backups pruning keeps. */
export interface RetentionPolicy {
  keep_last?: number;
  keep_daily?: number;
  keep_weekly?: number;
  keep_monthly?: number;
}

export interface RetentionCandidate {
  id: string;
  sequence: number;
  parentId: string | null;
  state: BackupState;
  held: boolean;
  /** When it completed (RFC 3339): what the daily, weekly and monthly buckets look at. */
  at: string;
}

type Bucket = (at: Date) => string;

const BUCKETS: Record<"keep_daily" | "keep_weekly" | "keep_monthly", Bucket> = {
  keep_daily: (at) => at.toISOString().slice(0, 10),
  keep_weekly: isoWeek,
  keep_monthly: (at) => at.toISOString().slice(0, 7),
};

/**
 * The ids of the backups to tombstone under `policy`, from a deployment's live (not tombstoned)
 * backups. A backup kept by any rule is kept; an absent rule keeps nothing by itself; a policy
 * without rules keeps everything. Only COMPLETED backups are pruned, never a held one, and an
 * incremental's parents are kept as long as it is (its restore needs them).
 *
 * "The newest backup of each of the last N days" counts days that have a backup, as restic's
 * `--keep-daily` does: a deployment paused for a month keeps its last N daily backups instead of
 * losing them all to the calendar. Buckets are UTC days, ISO weeks and months.
 */
export function backupsToPrune(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
): string[] {
  const rules = (["keep_last", "keep_daily", "keep_weekly", "keep_monthly"] as const).filter(
    (rule) => policy[rule] !== undefined,
  );
  if (rules.length === 0) return [];

  const newestFirst = [...candidates].sort((a, b) => b.sequence - a.sequence);
  const completed = newestFirst.filter((backup) => backup.state === "COMPLETED");
  const keep = new Set<string>();

  for (const backup of completed.slice(0, policy.keep_last ?? 0)) keep.add(backup.id);
  for (const rule of ["keep_daily", "keep_weekly", "keep_monthly"] as const) {
    const limit = policy[rule];
    if (limit === undefined || limit === 0) continue;
    const seen = new Set<string>();
    for (const backup of completed) {
      const bucket = BUCKETS[rule](new Date(backup.at));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep.add(backup.id);
      if (seen.size >= limit) break;
    }
  }
  for (const backup of completed) if (backup.held) keep.add(backup.id);

  // Every backup that stays (kept, or not COMPLETED and so never pruned) keeps its chain.
  const byId = new Map(newestFirst.map((backup) => [backup.id, backup]));
  for (const backup of newestFirst) {
    if (backup.state === "COMPLETED" && !keep.has(backup.id)) continue;
    let parent = backup.parentId ? byId.get(backup.parentId) : undefined;
    while (parent && !keep.has(parent.id)) {
      keep.add(parent.id);
      parent = parent.parentId ? byId.get(parent.parentId) : undefined;
    }
  }
  return completed.filter((backup) => !keep.has(backup.id)).map((backup) => backup.id);
}

/** `2026-W17`: the ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday). */
function isoWeek(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}
