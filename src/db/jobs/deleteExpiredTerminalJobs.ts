/**
 * `deleteExpiredTerminalJobs`: terminal-job GC. Deletes jobs that ended more
 * than `olderThanSeconds` ago (database clock), oldest first, `batchSize` at a
 * time. Each batch is its own short autocommit DELETE — never one transaction
 * over the whole backlog, which would hold locks and undo for as long as it
 * ran (Spider's version, spec §2.2, does that). A job's checkpoints go with it
 * (ON DELETE CASCADE).
 *
 * Candidates are read without locks; the DELETE re-checks state and end time,
 * so a job an operator retried in between is kept. Returns how many were
 * deleted.
 */
import { sql } from "kysely";
import { invalidArgument } from "../../core/errors.ts";
import { TERMINAL_STATES } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export interface DeleteExpiredTerminalJobsOptions {
  readonly olderThanSeconds: number;
  /** Jobs per DELETE. Default 1000. */
  readonly batchSize?: number;
  /** Stop after this many batches (the rest is left for the next call). Default: until none is left. */
  readonly maxBatches?: number;
  /** Told after each batch. */
  readonly onProgress?: (progress: { readonly deletedInBatch: number; readonly deletedSoFar: number }) => void;
}

export async function deleteExpiredTerminalJobs(db: Db, options: DeleteExpiredTerminalJobsOptions): Promise<number> {
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw invalidArgument(`batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isFinite(options.olderThanSeconds) || options.olderThanSeconds < 0) {
    throw invalidArgument(`retention must be a non-negative number of seconds, got ${options.olderThanSeconds}`);
  }
  const retentionMicros = Math.round(options.olderThanSeconds * 1_000_000);
  const cutoff = sql<Date>`CURRENT_TIMESTAMP(3) - INTERVAL ${retentionMicros} MICROSECOND`;
  let deletedSoFar = 0;
  for (let batch = 0; batch < (options.maxBatches ?? Number.POSITIVE_INFINITY); batch++) {
    const candidates = await runStatement(db, { operation: "deleteExpiredTerminalJobs (select)", writes: false }, (connection) =>
      connection
        .selectFrom("jobs")
        .select("id")
        .where("ended_at", "<", cutoff)
        .where("state", "in", TERMINAL_STATES)
        .orderBy("ended_at")
        .limit(batchSize)
        .execute(),
    );
    if (candidates.length === 0) break;
    const ids = candidates.map((row) => row.id);
    const result = await runStatement(
      db,
      { operation: "deleteExpiredTerminalJobs (delete)", writes: true, idempotent: true },
      (connection) =>
        connection
          .deleteFrom("jobs")
          .where("id", "in", ids)
          .where("state", "in", TERMINAL_STATES)
          .where("ended_at", "<", cutoff)
          .executeTakeFirst(),
    );
    const deletedInBatch = Number(result.numDeletedRows);
    deletedSoFar += deletedInBatch;
    options.onProgress?.({ deletedInBatch, deletedSoFar });
    if (candidates.length < batchSize) break;
  }
  return deletedSoFar;
}
