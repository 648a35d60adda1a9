import type { Db } from "./database";
import type { DeploymentRow } from "./deployments-store";

/** A row of `schedule_cursors`. */
export interface ScheduleCursorRow {
  deployment_id: string;
  schedule_index: number;
  fingerprint: string;
  handled_through: string;
  paused_seen: number;
}

/** A row of `schedule_slots`: one handled slot. */
export interface ScheduleSlotRow {
  deployment_id: string;
  schedule_index: number;
  slot_at: string;
  tenant_id: string;
  outcome: "queued" | "skipped";
  reason: "job_queued" | "job_limit" | "refused" | null;
  job_id: string | null;
  coalesced_count: number;
  first_coalesced_at: string | null;
  recorded_at: string;
}

/** The scheduler's reads and writes: deployments with schedules, cursors, handled slots. */
export class SchedulerStore {
  private readonly scheduledStatement;
  private readonly deploymentStatement;
  private readonly cursorsStatement;
  private readonly cursorsOfStatement;
  private readonly upsertCursorStatement;
  private readonly markPausedStatement;
  private readonly dropCursorsStatement;
  private readonly slotStatement;
  private readonly insertSlotStatement;
  private readonly slotsOfStatement;
  private readonly queuedJobStatement;
  private readonly pruneStatement;

  constructor(db: Db) {
    // Every tenant's: the scheduler works for the whole controller. Deployments without a
    // schedule are stored with `[]` (normalizeSchedules), so they are left out here.
    this.scheduledStatement = db.prepare<[], DeploymentRow>(
      "SELECT * FROM deployments WHERE schedules <> '[]' ORDER BY id",
    );
    this.deploymentStatement = db.prepare<[string], DeploymentRow>(
      "SELECT * FROM deployments WHERE id = ?",
    );
    this.cursorsStatement = db.prepare<[], ScheduleCursorRow>("SELECT * FROM schedule_cursors");
    this.cursorsOfStatement = db.prepare<[string], ScheduleCursorRow>(
      "SELECT * FROM schedule_cursors WHERE deployment_id = ? ORDER BY schedule_index",
    );
    this.upsertCursorStatement = db.prepare<ScheduleCursorRow>(
      `INSERT INTO schedule_cursors (deployment_id, schedule_index, fingerprint, handled_through, paused_seen)
       VALUES (@deployment_id, @schedule_index, @fingerprint, @handled_through, @paused_seen)
       ON CONFLICT (deployment_id, schedule_index) DO UPDATE SET fingerprint = excluded.fingerprint,
         handled_through = excluded.handled_through, paused_seen = excluded.paused_seen`,
    );
    this.markPausedStatement = db.prepare<[string]>(
      "UPDATE schedule_cursors SET paused_seen = 1 WHERE deployment_id = ? AND paused_seen = 0",
    );
    this.dropCursorsStatement = db.prepare<[string, number]>(
      "DELETE FROM schedule_cursors WHERE deployment_id = ? AND schedule_index >= ?",
    );
    this.slotStatement = db.prepare<[string, number, string], ScheduleSlotRow>(
      "SELECT * FROM schedule_slots WHERE deployment_id = ? AND schedule_index = ? AND slot_at = ?",
    );
    // A plain INSERT, not OR IGNORE: a second record of a slot is a bug that must abort the
    // transaction, and with it the job it would have queued.
    this.insertSlotStatement = db.prepare<ScheduleSlotRow>(
      `INSERT INTO schedule_slots (deployment_id, schedule_index, slot_at, tenant_id, outcome, reason,
         job_id, coalesced_count, first_coalesced_at, recorded_at)
       VALUES (@deployment_id, @schedule_index, @slot_at, @tenant_id, @outcome, @reason, @job_id,
         @coalesced_count, @first_coalesced_at, @recorded_at)`,
    );
    this.slotsOfStatement = db.prepare<[string], ScheduleSlotRow>(
      "SELECT * FROM schedule_slots WHERE deployment_id = ? ORDER BY slot_at, schedule_index",
    );
    // The jobs_queued partial index: a seek, whatever the deployment's history. A queued delete
    // job does not hold a slot back: an agent that never claims deletes would stop the schedule.
    this.queuedJobStatement = db.prepare<[string], { id: string; kind: string }>(
      `SELECT id, kind FROM jobs WHERE deployment_id = ? AND status = 'QUEUED' AND kind <> 'delete'
       ORDER BY id LIMIT 1`,
    );
    this.pruneStatement = db.prepare<[string]>("DELETE FROM schedule_slots WHERE recorded_at < ?");
  }

  /** Every deployment that has at least one schedule, paused ones included. */
  scheduledDeployments(): DeploymentRow[] {
    return this.scheduledStatement.all();
  }

  /** A deployment by id in any tenant: the scheduler re-reads it inside its transaction. */
  deployment(id: string): DeploymentRow | undefined {
    return this.deploymentStatement.get(id);
  }

  cursors(): ScheduleCursorRow[] {
    return this.cursorsStatement.all();
  }

  cursorsOf(deploymentId: string): ScheduleCursorRow[] {
    return this.cursorsOfStatement.all(deploymentId);
  }

  upsertCursor(row: ScheduleCursorRow): void {
    this.upsertCursorStatement.run(row);
  }

  /** Marks the deployment's cursors as having seen it paused; answers how many changed. */
  markPaused(deploymentId: string): number {
    return this.markPausedStatement.run(deploymentId).changes;
  }

  /** Forgets the cursors of schedules at `fromIndex` and above (the deployment has fewer now). */
  dropCursors(deploymentId: string, fromIndex: number): void {
    this.dropCursorsStatement.run(deploymentId, fromIndex);
  }

  slot(deploymentId: string, scheduleIndex: number, slotAt: string): ScheduleSlotRow | undefined {
    return this.slotStatement.get(deploymentId, scheduleIndex, slotAt);
  }

  /** Throws on a slot recorded before (the primary key): the caller's transaction rolls back. */
  insertSlot(row: ScheduleSlotRow): void {
    this.insertSlotStatement.run(row);
  }

  slotsOf(deploymentId: string): ScheduleSlotRow[] {
    return this.slotsOfStatement.all(deploymentId);
  }

  /** The oldest QUEUED job of the deployment, of any kind but `delete`. */
  queuedJob(deploymentId: string): { id: string; kind: string } | undefined {
    return this.queuedJobStatement.get(deploymentId);
  }

  /** Forgets slot records older than `before`; the cursors keep those slots handled. */
  pruneSlots(before: string): number {
    return this.pruneStatement.run(before).changes;
  }
}
