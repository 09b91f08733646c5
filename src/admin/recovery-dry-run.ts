/**
 * `recover --dry-run`: what a restart would do with this database, without
 * doing any of it. Pages through the recoverable jobs exactly as restart
 * recovery does (src/recovery: keyset per state, pages bounded by rows and by
 * bytes of blobs with `readJobPage`, a page's checkpoints in one query) and
 * rebuilds each job with recovery's own `rebuildJob` against a throwaway
 * engine, then drops it: nothing is written, quarantined, deleted or cached,
 * and memory stays bounded by one page (runtime.recovery.page_size and
 * page_bytes, so never more than a restart's recovery holds).
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
import type { JobEngine } from "../cache/job-engine.ts";
import { MemoryJobStore } from "../cache/memory-job-store.ts";
import type { SubmissionLimits } from "../core/job-submission.ts";
import { TaskGraphCache, taskGraphWeight } from "../core/task-graph-cache.ts";
import type { Db } from "../db/connection.ts";
import { countJobsByState } from "../db/jobs/countJobsByState.ts";
import { readJobPage } from "../db/jobs/readJobPage.ts";
import { decompressZstd } from "../core/zstd.ts";
import { TaskInstancePool } from "../instances/task-instance-pool.ts";
import { silentLogger } from "../observability/logger.ts";
import { InboundQueue } from "../queue/inbound-queue.ts";
import { readCheckpointsOfJobs } from "../db/checkpoints/readCheckpointsOfJobs.ts";
import { rebuildJob, recoveryLimits } from "../recovery/rebuild-job.ts";
import { MAX_LISTED_QUARANTINES, RECOVERABLE_STATES, type QuarantinedJob, type RecoverableState } from "../recovery/recovery-report.ts";

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

/** A do-nothing engine: rebuilt blocks reference it, nothing is ever enqueued or timed. */
export function throwawayEngine(): JobEngine {
  const store = new MemoryJobStore();
  return {
    store,
    queue: new InboundQueue(),
    pool: new TaskInstancePool(store),
    logger: silentLogger(),
    maxPayloadBytesPerJob: Number.MAX_SAFE_INTEGER,
    onTaskSucceeded: () => {},
    onJobTerminal: () => {},
  };
}

export async function recoveryDryRun(db: Db, options: RecoveryDryRunOptions): Promise<RecoveryDryRunReport> {
  const started = performance.now();
  const graphCache = new TaskGraphCache(); // bounded, as the server's
  const deps = { engine: throwawayEngine(), limits: recoveryLimits(options.limits), graphCache };
  const counts = await countJobsByState(db);
  const byState = Object.fromEntries(RECOVERABLE_STATES.map((s) => [s, counts[s]])) as Record<RecoverableState, number>;
  const total = RECOVERABLE_STATES.reduce((sum, s) => sum + counts[s], 0);
  const wouldCache: Record<RecoverableState, number> = { Ready: 0, Running: 0, CommitReady: 0, CleanupReady: 0 };
  const quarantinedJobs: QuarantinedJob[] = [];
  const graphWeights = new Map<string, number>();
  let done = 0;
  let quarantined = 0;
  let deferredReady = 0;
  let tasks = 0;
  let restored = 0;
  let toRun = 0;
  let readyAtStart = 0;
  let checkpointsRead = 0;
  let discarded = 0;
  let corrupt = 0;
  let bytesRead = 0;
  let blockBytes = 0;
  let pages = 0;

  for (const state of RECOVERABLE_STATES) {
    if (counts[state] === 0) continue;
    for (let afterId: bigint | undefined = 0n; afterId !== undefined; ) {
      const page = await readJobPage(db, { state, afterId, maxRows: options.pageSize, maxBytes: options.pageBytes });
      afterId = page.nextAfterId;
      const rows = page.rows;
      if (rows.length === 0) continue; // every row of the page left the state meanwhile
      pages++;
      options.onPage?.(rows.length, page.bytes);
      const checkpoints = state === "Running" ? await readCheckpointsOfJobs(db, rows.map((row) => row.id)) : undefined;
      for (const row of rows) {
        bytesRead += row.compressedTaskGraph.length + row.compressedInputs.length + (row.outputs?.length ?? 0);
        const jobCheckpoints = checkpoints?.get(row.id);
        for (const frame of jobCheckpoints?.values() ?? []) {
          checkpointsRead++;
          bytesRead += frame.length;
        }
        const outcome = rebuildJob(row, jobCheckpoints, deps, { cacheReady: options.cacheReadyJobs ?? false });
        if (outcome.kind === "quarantine") {
          quarantined++;
          if (quarantinedJobs.length < MAX_LISTED_QUARANTINES) quarantinedJobs.push({ jobId: row.id, state: row.state, reason: outcome.reason });
        } else if (outcome.kind === "deferred") {
          deferredReady++;
        } else {
          const jcb = outcome.jcb;
          wouldCache[state]++;
          tasks += jcb.taskCount;
          restored += outcome.restoredTasks;
          discarded += outcome.unusedCheckpoints.length;
          corrupt += outcome.corruptCheckpoints;
          if (state === "Running") {
            const states = jcb.taskStateCounts();
            toRun += jcb.taskCount - states.Succeeded;
            readyAtStart += states.Ready;
          } else if (state !== "Ready") {
            readyAtStart += 1; // the commit or cleanup task
          }
          blockBytes += jcb.heldPayloadBytes + inputBufferSlack(row.compressedInputs, deps.limits) + ESTIMATE_BYTES_PER_TASK * jcb.taskCount + ESTIMATE_BYTES_PER_JOB;
          // One parsed graph per distinct graph (the server shares them too); keyed by content.
          const key = createHash("sha256").update(row.compressedTaskGraph).digest("base64");
          if (!graphWeights.has(key)) graphWeights.set(key, taskGraphWeight(jcb.graph));
        }
        done++;
        options.onProgress?.(done, total);
      }
    }
  }

  let graphBytes = 0;
  for (const weight of graphWeights.values()) graphBytes += weight * ESTIMATE_BYTES_PER_GRAPH_WEIGHT;
  const durationMs = performance.now() - started;
  return {
    total,
    byState,
    wouldCache,
    deferredReady,
    quarantined,
    quarantinedJobs,
    tasks: { total: tasks, restoredFromCheckpoints: restored, toRun, readyAtStart },
    checkpoints: { read: checkpointsRead, used: restored, discarded, corrupt },
    bytesRead,
    distinctGraphs: graphWeights.size,
    estimatedMemoryBytes: Math.round(blockBytes + graphBytes),
    pages,
    durationMs,
    rowsPerSecond: (done * 1000) / Math.max(1, durationMs),
  };
}
