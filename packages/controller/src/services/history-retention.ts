import { AgentEventsStore } from "../store/agent-events-store";
import { AgentLogsStore } from "../store/agent-logs-store";
import { RetentionStore } from "../store/retention-store";
import type { Stores } from "./control-context";

/** How long history is kept (DESIGN 4: steady ingestion must not fill the disk). */
export interface HistoryRetentionSettings {
  /** Events older than this many days go; 0 keeps them forever. */
  eventDays: number;
  /** Log lines of jobs that ended this many days ago go (the job stays); 0 keeps them. */
  logDays: number;
  /** Audit entries older than this many days go, the chain staying verifiable; 0 keeps them. */
  auditDays: number;
  /** Finished jobs that ended this many days ago go, with their phases, lines and events. */
  jobDays: number;
  /** Rows removed per transaction, per kind. */
  batchSize: number;
  /** How often a pass runs. */
  intervalMs: number;
}

export const DEFAULT_HISTORY_RETENTION: HistoryRetentionSettings = {
  eventDays: 90,
  logDays: 30,
  auditDays: 365,
  jobDays: 90,
  batchSize: 1000,
  intervalMs: 600_000,
};

export interface PruneCounts {
  events: number;
  logs: number;
  jobs: number;
  audit: number;
}

interface Step {
  counts: PruneCounts;
  /** Nothing of this kind is left to prune for now. */
  done: boolean;
}

const DAY_MS = 86_400_000;
/** Where log retention's walk of finished jobs has got to (`retention_cursors.name`). */
const LOG_CURSOR = "job_logs";
/**
 * A pass stops after this many batches and resumes at the next tick: a huge backlog (a first
 * start with retention after years) is worked off over several passes, not in one go.
 */
const MAX_BATCHES_PER_PASS = 1000;
/** The first pass runs this soon after start (or after the interval, if shorter). */
const FIRST_PASS_DELAY_MS = 5000;

/**
 * Removes old events, job log lines, finished jobs and audit entries. Each batch removes at
 * most `batchSize` rows of each kind in its own short transaction, and a pass yields to the
 * event loop between batches, so requests (and their writes) are never held behind a long
 * delete. Audit entries go through `AuditLog.prune`, which keeps the chain verifiable.
 */
export class HistoryPruner {
  private readonly store: RetentionStore;
  private readonly agentLogs: AgentLogsStore;
  private readonly agentEvents: AgentEventsStore;

  constructor(
    private readonly stores: Stores,
    readonly settings: HistoryRetentionSettings = DEFAULT_HISTORY_RETENTION,
  ) {
    this.store = new RetentionStore(stores.db);
    this.agentLogs = new AgentLogsStore(stores.db);
    this.agentEvents = new AgentEventsStore(stores.db);
  }

  /** One batch of each kind; `done` once no kind has anything left to prune. */
  pruneBatch(now: Date = new Date()): Step {
    const steps = [
      this.pruneLogs(now),
      this.pruneJobs(now),
      this.pruneEvents(now),
      this.pruneAudit(now),
      this.pruneAgentLogs(now),
      this.pruneAgentEvents(now),
    ];
    return {
      counts: steps.reduce((total, step) => add(total, step.counts), none()),
      done: steps.every((step) => step.done),
    };
  }

  /** Batches until nothing is left (or the pass's budget is spent); `stopped` ends it early. */
  async prune(now: Date = new Date(), stopped: () => boolean = () => false): Promise<PruneCounts> {
    let total = none();
    for (let batch = 0; batch < MAX_BATCHES_PER_PASS && !stopped(); batch++) {
      const step = this.pruneBatch(now);
      total = add(total, step.counts);
      if (step.done) break;
      // Between two transactions: requests waiting for the database run here.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return total;
  }

  /**
   * Runs a pass shortly after start, then every `intervalMs` (one unref'd timer, never keeping
   * the process alive; a pass never overlaps the next). Returns the stop: no batch starts after
   * it, so the database can be closed right away.
   */
  start(onPass: (counts: PruneCounts) => void, onError: (error: unknown) => void): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const schedule = (delay: number) => {
      timer = setTimeout(() => {
        this.prune(new Date(), () => stopped).then(
          (counts) => {
            if (counts.events + counts.logs + counts.jobs + counts.audit > 0) onPass(counts);
            if (!stopped) schedule(this.settings.intervalMs);
          },
          (error: unknown) => {
            onError(error);
            if (!stopped) schedule(this.settings.intervalMs);
          },
        );
      }, delay);
      timer.unref();
    };
    schedule(Math.min(this.settings.intervalMs, FIRST_PASS_DELAY_MS));
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  private pruneEvents(now: Date): Step {
    const before = cutoff(now, this.settings.eventDays);
    if (before === undefined) return idle();
    const limit = this.settings.batchSize;
    const removed = this.stores.db.transaction(() =>
      this.store.deleteEventsBefore(before, limit),
    )();
    return { counts: { ...none(), events: removed }, done: removed < limit };
  }

  /**
   * The lines of jobs that ended before the cutoff, walking finished jobs by end time from
   * where the last batch stopped (a cursor), so jobs already emptied are not visited again. A
   * job's lines are counted from its end, not from the agent's timestamps: a long job keeps its
   * early lines while it runs, and an agent's clock cannot make lines vanish early.
   */
  private pruneLogs(now: Date): Step {
    const before = cutoff(now, this.settings.logDays);
    if (before === undefined) return idle();
    const limit = this.settings.batchSize;
    return this.stores.db.transaction((): Step => {
      const start = this.store.jobEndCursor(LOG_CURSOR);
      let cursor = start;
      let budget = limit;
      let removed = 0;
      const jobs = this.store.finishedJobs(before, start, limit);
      let finished = true;
      for (const job of jobs) {
        const lines = this.store.deleteJobLogs(job.id, budget);
        removed += lines;
        if (lines === budget) {
          // The budget ran out on this job: it may have more lines, so the cursor stays before it.
          finished = false;
          break;
        }
        budget -= lines;
        cursor = { endedAt: job.ended_at, id: job.id };
      }
      if (cursor && cursor !== start) this.store.setJobEndCursor(LOG_CURSOR, cursor);
      return {
        counts: { ...none(), logs: removed },
        done: finished && jobs.length < limit,
      };
    })();
  }

  /**
   * Finished jobs that ended before the cutoff, oldest first, as `deleteJob` forgets one: its
   * lines and events (in budgeted slices, so one huge job spans batches), then the row.
   */
  private pruneJobs(now: Date): Step {
    const before = cutoff(now, this.settings.jobDays);
    if (before === undefined) return idle();
    const limit = this.settings.batchSize;
    return this.stores.db.transaction((): Step => {
      const counts = none();
      let budget = limit;
      const jobs = this.store.finishedJobs(before, undefined, limit);
      for (const job of jobs) {
        const lines = this.store.deleteJobLogs(job.id, budget);
        counts.logs += lines;
        budget -= lines;
        if (budget === 0) break;
        const events = this.store.deleteJobEvents(job.id, budget);
        counts.events += events;
        budget -= events;
        if (budget === 0) break;
        if (this.store.deleteFinishedJob(job.id)) counts.jobs++;
        budget -= 1;
        if (budget === 0) break;
      }
      return { counts, done: budget > 0 && jobs.length < limit };
    })();
  }

  /**
   * Agent log submissions (postLog) committed before the log cutoff, with their chunks; the
   * offset counters of runs not written to since; staged rows of requests that died.
   */
  private pruneAgentLogs(now: Date): Step {
    const before = cutoff(now, this.settings.logDays);
    const limit = this.settings.batchSize;
    return this.stores.db.transaction((): Step => {
      const abandoned = this.agentLogs.discardStagedBefore(
        new Date(now.getTime() - DAY_MS).toISOString(),
      );
      if (before === undefined) return { counts: none(), done: abandoned < limit };
      const removed = this.agentLogs.deleteCommittedBefore(before, limit);
      const counters = this.agentLogs.deleteRunCountersBefore(before, limit);
      return {
        counts: { ...none(), logs: removed.lines },
        done: removed.submissions < limit && counters < limit && abandoned < limit,
      };
    })();
  }

  /** Agent run events, and the runs they placed, received before the event cutoff. */
  private pruneAgentEvents(now: Date): Step {
    const before = cutoff(now, this.settings.eventDays);
    if (before === undefined) return idle();
    const limit = this.settings.batchSize;
    return this.stores.db.transaction((): Step => {
      const events = this.agentEvents.deleteEventsBefore(before, limit);
      const runs = this.agentEvents.deleteRunsBefore(before, limit);
      return { counts: { ...none(), events }, done: events < limit && runs < limit };
    })();
  }

  /** The oldest audit entries; the chain records the prune and stays verifiable. */
  private pruneAudit(now: Date): Step {
    const before = cutoff(now, this.settings.auditDays);
    if (before === undefined) return idle();
    const limit = this.settings.batchSize;
    const removed = this.stores.db.transaction(() =>
      // The prune's own entry belongs to the root tenant, whose admins see every tenant.
      this.stores.auditLog.prune(before, limit, this.stores.tenants.root()?.id),
    )();
    // Not `removed < limit`: earlier prune records go along without counting against the limit.
    return { counts: { ...none(), audit: removed }, done: removed === 0 };
  }
}

/** The instant before which a kind kept `days` days goes; `undefined` when it is kept forever. */
function cutoff(now: Date, days: number): string | undefined {
  return days > 0 ? new Date(now.getTime() - days * DAY_MS).toISOString() : undefined;
}

function none(): PruneCounts {
  return { events: 0, logs: 0, jobs: 0, audit: 0 };
}

function idle(): Step {
  return { counts: none(), done: true };
}

function add(a: PruneCounts, b: PruneCounts): PruneCounts {
  return {
    events: a.events + b.events,
    logs: a.logs + b.logs,
    jobs: a.jobs + b.jobs,
    audit: a.audit + b.audit,
  };
}
