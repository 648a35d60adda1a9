import { createHash } from "node:crypto";
import { ApiError, type NdjsonLine } from "@stowage/server-runtime";
import type { components } from "@stowage/agent-server";
import { AgentEventsStore } from "../../store/agent-events-store";
import { AgentLogsStore } from "../../store/agent-logs-store";
import type { AgentPrincipal } from "../agent-principal";
import type { Stores } from "../control-context";
import type { IdempotencyService } from "../idempotency";
import { newId, nowIso } from "../identifiers";
import type { JobLogInput, JobsService } from "../jobs-service";

export type AgentLog = components["schemas"]["Log"];
export type LogReceipt = components["schemas"]["LogReceipt"];

/**
 * Lines buffered before they are staged as chunks. Measured with scripts/bench/agent-logs.ts:
 * 1 MiB chunks keep the per-row cost out of the profile, and a request's memory stays bounded
 * by it whatever the body's size.
 */
const CHUNK_BYTES = 1024 * 1024;

/** One submission while its body streams in. */
interface Submission {
  id: string;
  principal: AgentPrincipal;
  receivedAt: string;
  /** By run, the texts of lines not yet staged. */
  pending: Map<string, string[]>;
  /** UTF-16 units pending, an estimate of the bytes: staging needs no exact count. */
  pendingLength: number;
  staged: boolean;
  lines: number;
  bytes: number;
  runs: Set<string>;
}

/**
 * Stores agent log lines (postLog) as validated NDJSON chunks indexed by run and offset.
 *
 * Lines are buffered up to CHUNK_BYTES, then staged: written as chunks of a submission that is
 * not yet visible, each flush a short transaction of its own, because better-sqlite3 shares one
 * connection, and a transaction held open across the body's `await`s would take every other
 * request's writes into it. The submission is committed in one final transaction with its
 * Idempotency-Key record; a refused request (400, 413) or a failed one discards what it
 * staged, and a crash leaves only staged rows, which start-up and retention (after a day) delete.
 */
export class LogIngestion {
  private readonly store: AgentLogsStore;
  private readonly runs: AgentEventsStore;

  constructor(
    private readonly stores: Stores,
    private readonly jobs: JobsService,
    private readonly idempotency: IdempotencyService,
  ) {
    this.store = new AgentLogsStore(stores.db);
    this.runs = new AgentEventsStore(stores.db);
  }

  /** At start: every staged submission belongs to a request of a previous process. */
  discardAbandoned(now: Date = new Date()): number {
    return this.store.discardStagedBefore(new Date(now.getTime() + 1).toISOString());
  }

  /**
   * Stores the lines of one request, their text as sent (each line validated by the router).
   * `lines` is consumed once; if it throws (an invalid line, a body over the limit), nothing of
   * it stays. With `key`, a repeat of the same lines answers the first receipt with
   * `replayed: true` and stores nothing.
   */
  async ingest(
    principal: AgentPrincipal,
    lines: AsyncIterable<NdjsonLine<AgentLog>[]> | Iterable<NdjsonLine<AgentLog>[]>,
    key: string | undefined,
  ): Promise<LogReceipt> {
    const submission: Submission = {
      id: newId("log"),
      principal,
      receivedAt: nowIso(),
      pending: new Map(),
      pendingLength: 0,
      staged: false,
      lines: 0,
      bytes: 0,
      runs: new Set(),
    };
    // Only an Idempotency-Key compares bodies, so only a key pays for the digest (8% of the
    // route's CPU time in scripts/bench/agent-logs.ts). It is over the lines in order, each
    // ended by `\n`: the same lines are the same digest, however the request was cut into chunks.
    const digest = key === undefined ? undefined : createHash("sha256");
    try {
      for await (const batch of lines) {
        let run: string | undefined;
        let pending: string[] = [];
        let length = 0;
        for (const line of batch) {
          // Lines of one run usually come together: look the run up when it changes.
          if ((line.value.run ?? "") !== run) {
            run = line.value.run ?? "";
            pending = submission.pending.get(run) ?? [];
            submission.pending.set(run, pending);
            submission.runs.add(run);
          }
          pending.push(line.text);
          length += line.text.length + 1;
        }
        digest?.update(`${batch.map((line) => line.text).join("\n")}\n`);
        submission.lines += batch.length;
        submission.pendingLength += length;
        if (submission.pendingLength >= CHUNK_BYTES) this.stage(submission);
      }
      return this.commit(submission, key, digest?.digest("hex"));
    } catch (error) {
      if (submission.staged) this.store.discard(submission.id);
      throw error;
    }
  }

  /** Writes the buffered lines as chunks of the (invisible) staged submission. */
  private stage(submission: Submission): void {
    this.stores.db.transaction(() => {
      if (!submission.staged) this.insertSubmission(submission);
      this.writePending(submission);
    })();
    submission.staged = true;
  }

  private commit(
    submission: Submission,
    key: string | undefined,
    digest: string | undefined,
  ): LogReceipt {
    const { principal } = submission;
    let stored = false;
    const reply = this.idempotency.run(
      {
        principal: `agent:${principal.agentId}`,
        key,
        operation: "postLog",
        body: { lines: submission.lines, sha256: digest },
      },
      () =>
        this.stores.db.transaction(() => {
          if (!submission.staged) this.insertSubmission(submission);
          this.writePending(submission);
          if (!this.store.commit(submission.id, submission.lines, submission.bytes, nowIso()))
            throw new Error(`log submission ${submission.id} vanished before its commit`);
          this.copyJobLines(submission);
          stored = true;
          const receipt: LogReceipt = {
            id: submission.id,
            lines: submission.lines,
            bytes: submission.bytes,
            replayed: false,
          };
          return { status: 201, body: receipt };
        })(),
    );
    if (stored) return reply.body;
    // The key's first request stored these lines: this one's are not wanted.
    if (submission.staged) this.store.discard(submission.id);
    return { ...(reply.body as LogReceipt), replayed: true };
  }

  private insertSubmission(submission: Submission): void {
    this.store.insertSubmission({
      id: submission.id,
      tenant_id: submission.principal.tenantId,
      agent_id: submission.principal.agentId,
      state: "staged",
      lines: 0,
      bytes: 0,
      received_at: submission.receivedAt,
      committed_at: null,
    });
  }

  private writePending(submission: Submission): void {
    const at = nowIso();
    const agentId = submission.principal.agentId;
    for (const [run, texts] of submission.pending) {
      const count = texts.length;
      submission.bytes += this.store.insertChunk({
        submission_id: submission.id,
        agent_id: agentId,
        run,
        first_line: this.store.reserveLines(agentId, run, count, at),
        line_count: count,
        body: `${texts.join("\n")}\n`,
      });
    }
    submission.pending.clear();
    submission.pendingLength = 0;
  }

  /**
   * Lines of a run that carries out a job (`run.started` named it, or `run` is the job id, as
   * databacker-style agents send it) also go to the job's log, which the control API serves.
   */
  private copyJobLines(submission: Submission): void {
    const agentId = submission.principal.agentId;
    for (const run of submission.runs) {
      if (run === "") continue;
      const jobId = this.runs.run(agentId, run)?.job_id ?? run;
      const job = this.stores.jobs.byIdInAnyTenant(jobId);
      if (!job || job.tenant_id !== submission.principal.tenantId) continue;
      const lines = this.store
        .chunksOfSubmission(submission.id, run)
        .flatMap((body) => body.split("\n").filter((text) => text !== ""))
        .map((text) => JSON.parse(text) as JobLogInput);
      try {
        this.jobs.appendJobLogs(agentId, job.id, lines);
      } catch (error) {
        // Another agent's job: the lines stay in this agent's own log only.
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
    }
  }
}
