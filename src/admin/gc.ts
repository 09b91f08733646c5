/**
 * Terminal-job GC (`gc`, the server's periodic run, RunGc): deletes jobs that
 * ended more than a retention ago, with their checkpoints (ON DELETE CASCADE),
 * a batch per statement (src/db's deleteExpiredTerminalJobs), and counts what
 * is left. `maxBatches` lets a caller go one batch at a time to show progress.
 */
import { invalidArgument } from "../core/errors.ts";
import type { Db } from "../db/connection.ts";
import { deleteExpiredTerminalJobs } from "../db/jobs/deleteExpiredTerminalJobs.ts";
import { countExpiredTerminalJobs } from "../db/jobs/countExpiredTerminalJobs.ts";

export interface GcRun {
  /** Delete jobs that ended at least this many seconds ago. */
  readonly olderThanSec: number;
  readonly batchSize: number;
  /** 0 or undefined: until none is left. */
  readonly maxBatches?: number;
  /** Only count. */
  readonly dryRun?: boolean;
  readonly onBatch?: (deletedSoFar: number) => void;
}

export interface GcResult {
  readonly deleted: number;
  /** Expired terminal jobs still in the database afterwards. */
  readonly remaining: number;
}

export const MAX_GC_BATCH_SIZE = 1_000_000;

export async function runGc(db: Db, run: GcRun): Promise<GcResult> {
  if (!Number.isSafeInteger(run.batchSize) || run.batchSize < 1 || run.batchSize > MAX_GC_BATCH_SIZE) {
    throw invalidArgument(`batch size must be an integer 1..${MAX_GC_BATCH_SIZE}, got ${run.batchSize}`);
  }
  if (!Number.isFinite(run.olderThanSec) || run.olderThanSec < 0) {
    throw invalidArgument(`retention must be a non-negative number of seconds, got ${run.olderThanSec}`);
  }
  if (run.dryRun) return { deleted: 0, remaining: await countExpiredTerminalJobs(db, run.olderThanSec) };
  const deleted = await deleteExpiredTerminalJobs(db, {
    olderThanSeconds: run.olderThanSec,
    batchSize: run.batchSize,
    ...(run.maxBatches ? { maxBatches: run.maxBatches } : {}),
    ...(run.onBatch ? { onProgress: (progress) => run.onBatch!(progress.deletedSoFar) } : {}),
  });
  const remaining = run.maxBatches ? await countExpiredTerminalJobs(db, run.olderThanSec) : 0;
  return { deleted, remaining };
}
