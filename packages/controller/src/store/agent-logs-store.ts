import type { Db } from "./database";

export interface LogSubmissionRow {
  id: string;
  tenant_id: string;
  agent_id: string;
  state: "staged" | "committed";
  lines: number;
  bytes: number;
  received_at: string;
  committed_at: string | null;
}

export interface LogChunkRow {
  submission_id: string;
  agent_id: string;
  run: string;
  first_line: number;
  line_count: number;
  bytes: number;
  /** NDJSON text: the chunk's validated lines, each ended by `\n`. */
  body: string;
}

/** A committed chunk of a run's log, as readers see it. */
export type StoredLogChunk = Pick<LogChunkRow, "run" | "first_line" | "line_count" | "body">;

/**
 * Agent log submissions and their chunks (migration 11). A submission is staged while its body
 * streams in and committed in one statement at the end; readers see committed ones only.
 */
export class AgentLogsStore {
  private readonly insertSubmissionStatement;
  private readonly reserveLinesStatement;
  private readonly insertChunkStatement;
  private readonly commitStatement;
  private readonly discardStatement;
  private readonly discardStagedBeforeStatement;
  private readonly submissionStatement;
  private readonly chunksOfSubmissionStatement;
  private readonly runChunksStatement;
  private readonly oldSubmissionsStatement;
  private readonly deleteSubmissionStatement;
  private readonly deleteRunCountersStatement;

  constructor(db: Db) {
    this.insertSubmissionStatement = db.prepare<LogSubmissionRow>(
      `INSERT INTO agent_log_submissions
         (id, tenant_id, agent_id, state, lines, bytes, received_at, committed_at)
       VALUES (@id, @tenant_id, @agent_id, @state, @lines, @bytes, @received_at, @committed_at)`,
    );
    this.reserveLinesStatement = db.prepare<
      { agent: string; run: string; count: number; at: string },
      { first: number }
    >(
      `INSERT INTO agent_log_runs (agent_id, run, next_line, updated_at)
       VALUES (@agent, @run, @count, @at)
       ON CONFLICT (agent_id, run) DO UPDATE
         SET next_line = next_line + @count, updated_at = @at
       RETURNING next_line - @count AS first`,
    );
    // SQLite counts the bytes of the UTF-8 it was handed: in JS, Buffer.byteLength scanned each
    // 1 MiB chunk again (0.8 ms a chunk in scripts/bench/agent-logs.ts).
    this.insertChunkStatement = db.prepare<Omit<LogChunkRow, "bytes">, { bytes: number }>(
      `INSERT INTO agent_log_chunks
         (submission_id, agent_id, run, first_line, line_count, bytes, body)
       VALUES (@submission_id, @agent_id, @run, @first_line, @line_count, octet_length(@body), @body)
       RETURNING bytes`,
    );
    this.commitStatement = db.prepare<{ id: string; lines: number; bytes: number; at: string }>(
      `UPDATE agent_log_submissions
       SET state = 'committed', lines = @lines, bytes = @bytes, committed_at = @at
       WHERE id = @id AND state = 'staged'`,
    );
    this.discardStatement = db.prepare<[string]>(
      "DELETE FROM agent_log_submissions WHERE id = ? AND state = 'staged'",
    );
    this.discardStagedBeforeStatement = db.prepare<[string]>(
      "DELETE FROM agent_log_submissions WHERE state = 'staged' AND received_at < ?",
    );
    this.submissionStatement = db.prepare<[string], LogSubmissionRow>(
      "SELECT * FROM agent_log_submissions WHERE id = ?",
    );
    this.chunksOfSubmissionStatement = db.prepare<[string, string], { body: string }>(
      "SELECT body FROM agent_log_chunks WHERE submission_id = ? AND run = ? ORDER BY id",
    );
    this.runChunksStatement = db.prepare<
      { agent: string; run: string; from: number; limit: number },
      StoredLogChunk
    >(
      `SELECT c.run, c.first_line, c.line_count, c.body
       FROM agent_log_chunks c JOIN agent_log_submissions s ON s.id = c.submission_id
       WHERE c.agent_id = @agent AND c.run = @run AND c.first_line + c.line_count > @from
         AND s.state = 'committed'
       ORDER BY c.first_line LIMIT @limit`,
    );
    this.oldSubmissionsStatement = db.prepare<[string, number], { id: string; lines: number }>(
      `SELECT id, lines FROM agent_log_submissions
       WHERE state = 'committed' AND committed_at < ? ORDER BY committed_at LIMIT ?`,
    );
    this.deleteSubmissionStatement = db.prepare<[string]>(
      "DELETE FROM agent_log_submissions WHERE id = ?",
    );
    this.deleteRunCountersStatement = db.prepare<[string, number]>(
      `DELETE FROM agent_log_runs WHERE (agent_id, run) IN (
         SELECT agent_id, run FROM agent_log_runs WHERE updated_at < ? ORDER BY updated_at LIMIT ?)`,
    );
  }

  insertSubmission(row: LogSubmissionRow): void {
    this.insertSubmissionStatement.run(row);
  }

  /** Reserves `count` line offsets in the run's log; answers the first. */
  reserveLines(agentId: string, run: string, count: number, at: string): number {
    const reserved = this.reserveLinesStatement.get({ agent: agentId, run, count, at });
    if (!reserved) throw new Error("reserving log offsets returned no row");
    return reserved.first;
  }

  /** Stores a chunk; answers its size in bytes (UTF-8). */
  insertChunk(row: Omit<LogChunkRow, "bytes">): number {
    const stored = this.insertChunkStatement.get(row);
    if (!stored) throw new Error("inserting a log chunk returned no row");
    return stored.bytes;
  }

  /** Makes a staged submission visible; false when it is no longer staged. */
  commit(id: string, lines: number, bytes: number, at: string): boolean {
    return this.commitStatement.run({ id, lines, bytes, at }).changes > 0;
  }

  /** Drops a staged submission with its chunks. */
  discard(id: string): void {
    this.discardStatement.run(id);
  }

  /** Staged submissions received before `at`: requests that died (a crash) before committing. */
  discardStagedBefore(at: string): number {
    return this.discardStagedBeforeStatement.run(at).changes;
  }

  submission(id: string): LogSubmissionRow | undefined {
    return this.submissionStatement.get(id);
  }

  /** The NDJSON text of a submission's chunks of one run, in order. */
  chunksOfSubmission(id: string, run: string): string[] {
    return this.chunksOfSubmissionStatement.all(id, run).map((chunk) => chunk.body);
  }

  /** Committed chunks of a run's log that hold line `from` or later, in order. */
  runChunks(agentId: string, run: string, from: number, limit: number): StoredLogChunk[] {
    return this.runChunksStatement.all({ agent: agentId, run, from, limit });
  }

  /**
   * Deletes up to `limit` submissions committed before `before`, with their chunks; answers the
   * lines removed.
   */
  deleteCommittedBefore(before: string, limit: number): { submissions: number; lines: number } {
    const old = this.oldSubmissionsStatement.all(before, limit);
    for (const submission of old) this.deleteSubmissionStatement.run(submission.id);
    return {
      submissions: old.length,
      lines: old.reduce((sum, submission) => sum + submission.lines, 0),
    };
  }

  /** Offset counters of runs not written to since `before` (their chunks are gone by then). */
  deleteRunCountersBefore(before: string, limit: number): number {
    return this.deleteRunCountersStatement.run(before, limit).changes;
  }
}
