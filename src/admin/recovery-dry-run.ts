/**
 * `recover --dry-run`: what a restart would do with this database, without
 * doing any of it. It is restart recovery itself (src/recovery's
 * recoverJobs: keyset per state, pages bounded by rows and by bytes of blobs,
 * a page's checkpoints in one query, every row checked by `checkJob`) with a
 * checking sink: no control block, engine or store is built, and nothing is
 * written, quarantined, deleted or cached. No page is read ahead, so memory
 * stays bounded by one page (runtime.recovery.page_size and page_bytes, so
 * never more than a restart's recovery holds).
 *
 * It reports what the cache would hold (jobs per state, tasks, tasks restored
 * from checkpoints, tasks that would run again, queue entries after the
 * refill), which rows would be quarantined and why, which checkpoints would be
 * discarded, how long the scan took (reading and decoding are most of what a
 * restart spends; it also quarantines and deletes, usually a few rows) and an
 * estimate of the memory the rebuilt cache would take: the payload bytes the
 * blocks hold (with the whole buffer the job inputs were decompressed into,
 * which their views keep alive), a per-task and per-job cost of the control
 * blocks, and the parsed graphs (one per distinct graph). The constants were
 * measured on Node 24 with `--expose-gc` (heap used before and after building
 * 2000 blocks of 11- to 1001-task graphs); treat the figure as an estimate.
 */
import { createHash } from "node:crypto";
import type { SubmissionLimits } from "../core/job-submission.ts";
import { TaskGraphCache, taskGraphWeight } from "../core/task-graph-cache.ts";
import type { Db } from "../db/connection.ts";
import { decompressZstd } from "../core/zstd.ts";
import { silentLogger } from "../observability/logger.ts";
import { recoveryLimits } from "../recovery/check-job.ts";
import { recoverJobs } from "../recovery/recover-jobs.ts";
import { RECOVERABLE_STATES, type QuarantinedJob, type RecoverableState } from "../recovery/recovery-report.ts";

/** Heap bytes per task of a job control block (its typed arrays and payload slots, the input views). */
export const ESTIMATE_BYTES_PER_TASK = 90;
/** Heap bytes per job control block besides its tasks. */
export const ESTIMATE_BYTES_PER_JOB = 2_500;
/** Heap bytes per unit of parsed-graph weight (tasks + dependencies + 1), once per distinct graph. */
export const ESTIMATE_BYTES_PER_GRAPH_WEIGHT = 250;

export interface RecoveryDryRunOptions {
  readonly pageSize: number;
  /** Most bytes of blobs a page holds, but at least one job (runtime.recovery.page_bytes, as recovery). */
  readonly pageBytes: number;
  /** After every page: its rows and bytes of blobs. */
  readonly onPage?: (rows: number, bytes: number) => void;
  /** The configured submission limits (recovery never applies tighter ones than the defaults). */
  readonly limits: SubmissionLimits;
  /** Also cache Ready jobs (the server does not: StartJob loads them). */
  readonly cacheReadyJobs?: boolean;
  /** After every job: rows handled so far, of `total`. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface RecoveryDryRunReport {
  /** Rows in the recoverable states. */
  readonly total: number;
  readonly byState: Record<RecoverableState, number>;
  /** Jobs the cache would hold, per state. */
  readonly wouldCache: Record<RecoverableState, number>;
  /** Valid Ready jobs left in the database until StartJob loads them. */
  readonly deferredReady: number;
  readonly quarantined: number;
  /** The first rows that would be quarantined. */
  readonly quarantinedJobs: QuarantinedJob[];
  readonly tasks: {
    /** Tasks of the jobs the cache would hold. */
    readonly total: number;
    readonly restoredFromCheckpoints: number;
    /** Tasks of Running jobs that would run (again). */
    readonly toRun: number;
    /** Queue entries the refill would add. */
    readonly readyAtStart: number;
  };
  readonly checkpoints: { readonly read: number; readonly used: number; readonly discarded: number; readonly corrupt: number };
  /** Bytes of rows and checkpoints read. */
  readonly bytesRead: number;
  readonly distinctGraphs: number;
  readonly estimatedMemoryBytes: number;
  readonly pages: number;
  readonly durationMs: number;
  readonly rowsPerSecond: number;
}

/**
 * Bytes the decompressed inputs' buffer holds beyond the inputs themselves:
 * the inputs are views into it, so all of it stays alive with the job.
 */
function inputBufferSlack(compressedInputs: Uint8Array, limits: SubmissionLimits): number {
  try {
    const frame = decompressZstd(compressedInputs, { maxOutputBytes: limits.maxDecompressedBytes, maxFrames: limits.maxZstdFrames });
    return frame.buffer.byteLength - frame.byteLength + 4;
  } catch {
    return 0;
  }
}

export async function recoveryDryRun(db: Db, options: RecoveryDryRunOptions): Promise<RecoveryDryRunReport> {
  const limits = recoveryLimits(options.limits);
  let byState: Record<RecoverableState, number> = { Ready: 0, Running: 0, CommitReady: 0, CleanupReady: 0 };
  let total = 0;
  const graphWeights = new Map<string, number>();
  let done = 0;
  let tasks = 0;
  let toRun = 0;
  let readyAtStart = 0;
  let checkpointsRead = 0;
  let bytesRead = 0;
  let blockBytes = 0;
  let pages = 0;

  const report = await recoverJobs({
    db,
    sink: {
      check: {
        limits: options.limits,
        graphCache: new TaskGraphCache(), // bounded, as the server's
        onCounted: (counts) => {
          byState = Object.fromEntries(RECOVERABLE_STATES.map((s) => [s, counts[s]])) as Record<RecoverableState, number>;
          total = RECOVERABLE_STATES.reduce((sum, s) => sum + counts[s], 0);
        },
        onChecked: ({ row, checkpoints }, outcome) => {
          bytesRead += row.compressedTaskGraph.length + row.compressedInputs.length + (row.outputs?.length ?? 0);
          for (const frame of checkpoints?.values() ?? []) {
            checkpointsRead++;
            bytesRead += frame.length;
          }
          if (outcome.kind === "usable") {
            const job = outcome.job;
            tasks += job.graph.tasks.length;
            if (job.state === "Running") {
              toRun += job.graph.tasks.length - job.restored.length;
              readyAtStart += job.readyTasks;
            } else if (job.state !== "Ready") {
              readyAtStart += 1; // the commit or cleanup task
            }
            blockBytes += job.payloadBytes + inputBufferSlack(row.compressedInputs, limits) + ESTIMATE_BYTES_PER_TASK * job.graph.tasks.length + ESTIMATE_BYTES_PER_JOB;
            // One parsed graph per distinct graph (the server shares them too); keyed by content.
            const key = createHash("sha256").update(row.compressedTaskGraph).digest("base64");
            if (!graphWeights.has(key)) graphWeights.set(key, taskGraphWeight(job.graph));
          }
          done++;
          options.onProgress?.(done, total);
        },
      },
    },
    pageSize: options.pageSize,
    pageBytes: options.pageBytes,
    readAhead: 0,
    cacheReadyJobs: options.cacheReadyJobs ?? false,
    logger: silentLogger(),
    onPage: (rows, bytes) => {
      if (rows === 0) return; // every row of the page left the state meanwhile
      pages++;
      options.onPage?.(rows, bytes);
    },
  });

  let graphBytes = 0;
  for (const weight of graphWeights.values()) graphBytes += weight * ESTIMATE_BYTES_PER_GRAPH_WEIGHT;
  return {
    total,
    byState,
    wouldCache: report.cached,
    deferredReady: report.deferredReady,
    quarantined: report.quarantined,
    quarantinedJobs: [...report.quarantinedJobs],
    tasks: { total: tasks, restoredFromCheckpoints: report.restoredTasks, toRun, readyAtStart },
    checkpoints: { read: checkpointsRead, used: report.restoredTasks, discarded: report.discardedCheckpoints, corrupt: report.corruptCheckpoints },
    bytesRead,
    distinctGraphs: graphWeights.size,
    estimatedMemoryBytes: Math.round(blockBytes + graphBytes),
    pages,
    durationMs: report.durationMs,
    rowsPerSecond: report.rate,
  };
}
