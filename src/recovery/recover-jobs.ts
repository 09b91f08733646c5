/**
 * Restart recovery (spec §5, DECISIONS D2, D4, D8, D9): rebuilds the job
 * cache from the database before the server serves.
 *
 * Pages through the jobs in Running, CommitReady, CleanupReady and Ready —
 * keyset per state on `id` (D8), at most `pageSize` rows and `pageBytes`
 * bytes of blobs at a time — and builds each page's job control blocks before
 * reading further, so memory is bounded by (readAhead + 1) pages plus the
 * live cache, never by the backlog or by the size of its jobs. `readAhead` pages are read while the current one is built (the
 * next page's query needs only the previous page's last id).
 *
 * Ready jobs are validated but, by default, not cached: a job that was never
 * started holds nothing worth keeping in memory, and StartJob / CancelJob load
 * it from the database when they need it (ready-job-loader.ts). A backlog of
 * never-started jobs thus costs no memory at all.
 *
 * A row that cannot be used (see rebuild-job.ts) does not stop the start-up:
 * its job is quarantined — Failed with an error message starting
 * "quarantined: " (D4, actor "quarantine") — logged and counted.
 *
 * Rows may change while recovery pages (issue 16): the pool fence stops new
 * connections only, so a transaction of the previous holder of the lease can
 * still commit. A job then moves between states — seen twice (Running, then
 * CommitReady: the later row is the newer and replaces the first), missed
 * (Ready → Running after the Running pages were read), or ended. After the
 * pages, a settling pass lists the ids and states of the cached states again
 * (no blobs; as many as the cache holds) and re-reads every job whose state
 * differs, until a pass finds none. The high-availability issue brings real
 * fencing; until then a write that commits after this pass is not seen.
 *
 * Nothing is enqueued here: the caller refills the queue once the cache is
 * whole, then serves (D7).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { JobCache } from "../cache/job-cache.ts";
import type { JobEngine } from "../cache/job-engine.ts";
import { isStorageError } from "../core/errors.ts";
import type { SubmissionLimits } from "../core/job-submission.ts";
import type { TaskGraphCache } from "../core/task-graph-cache.ts";
import type { Db } from "../db/connection.ts";
import { countJobsByState } from "../db/jobs/countJobsByState.ts";
import { getJob } from "../db/jobs/getJob.ts";
import type { JobRowWithBlobs } from "../db/jobs/job-row.ts";
import { listJobsByState } from "../db/jobs/listJobsByState.ts";
import { readJobPage } from "../db/jobs/readJobPage.ts";
import { quarantineJob } from "../db/jobs/quarantineJob.ts";
import type { Logger } from "../observability/logger.ts";
import { deleteCheckpointsOfTasks } from "../db/checkpoints/deleteCheckpointsOfTasks.ts";
import { readCheckpointsOfJobs } from "../db/checkpoints/readCheckpointsOfJobs.ts";
import { rebuildJob, recoveryLimits } from "./rebuild-job.ts";
import {
  MAX_LISTED_QUARANTINES,
  RECOVERABLE_STATES,
  type QuarantinedJob,
  type RecoverableState,
  type RecoveryReport,
} from "./recovery-report.ts";

/** Where recovered jobs go: the engine's cache and what its JCBs share. */
export interface RecoveryTarget {
  readonly cache: JobCache;
  readonly engine: JobEngine;
  readonly limits: SubmissionLimits;
  readonly graphCache?: TaskGraphCache;
}

export interface RecoverJobsOptions {
  readonly db: Db;
  readonly target: RecoveryTarget;
  /** Rows per page (runtime.recovery.page_size). */
  readonly pageSize: number;
  /**
   * Most bytes of blobs per page, but at least one job (runtime.recovery.page_bytes):
   * with readAhead, recovery holds at most (readAhead + 1) pages. Default: no limit.
   */
  readonly pageBytes?: number;
  /** Called after every page with its rows and bytes (metrics). Must not throw. */
  readonly onPage?: (rows: number, bytes: number) => void;
  /** Pages read ahead of the one being built (runtime.recovery.concurrency). Default 1. */
  readonly readAhead?: number;
  /** Also cache Ready jobs (Spider's behaviour). Default false: StartJob loads them. */
  readonly cacheReadyJobs?: boolean;
  readonly logger: Logger;
  /** Called after every page (metrics). Must not throw. */
  readonly onProgress?: (done: number, total: number, quarantined: number) => void;
  /** Stops between pages (the server is stopping). */
  readonly signal?: AbortSignal;
  /** TEST ONLY: sleep after each page (see test-hooks.ts). */
  readonly pageDelayMs?: number;
  /** TEST ONLY: runs before the pages of each state are read (a concurrent writer's moment). */
  readonly beforeState?: (state: RecoverableState) => Promise<void>;
  /** Progress is logged at info at most this often (and at the end). Default 1000 ms. */
  readonly logIntervalMs?: number;
}

interface Page {
  readonly rows: JobRowWithBlobs[];
  /** Bytes of blobs read (graphs, inputs, outputs). */
  readonly bytes: number;
  readonly nextAfterId: bigint | undefined;
  readonly checkpoints: Map<bigint, Map<number, Uint8Array>> | undefined;
}

/** Rows per page of the settling pass (ids and states only). */
const SETTLE_PAGE = 5_000;
/** Settling passes before recovery gives up on a database that keeps changing under it. */
const MAX_SETTLE_PASSES = 5;
/** Longest stretch of decoding without giving the event loop a turn. */
const YIELD_EVERY_MS = 50;

export async function recoverJobs(options: RecoverJobsOptions): Promise<RecoveryReport> {
  const { db, target, logger, pageSize } = options;
  const readAhead = Math.max(0, options.readAhead ?? 1);
  const cacheReady = options.cacheReadyJobs ?? false;
  const logIntervalMs = options.logIntervalMs ?? 1_000;
  const deps = { engine: target.engine, limits: recoveryLimits(target.limits), ...(target.graphCache ? { graphCache: target.graphCache } : {}) };
  const started = performance.now();

  const counts = await countJobsByState(db);
  const total = RECOVERABLE_STATES.reduce((sum, state) => sum + counts[state], 0);
  logger.info(
    { total, running: counts.Running, commitReady: counts.CommitReady, cleanupReady: counts.CleanupReady, ready: counts.Ready, pageSize, readAhead },
    "recovery started",
  );

  const cached: Record<RecoverableState, number> = { Ready: 0, Running: 0, CommitReady: 0, CleanupReady: 0 };
  const quarantinedJobs: QuarantinedJob[] = [];
  let done = 0;
  let deferredReady = 0;
  let quarantined = 0;
  let restoredTasks = 0;
  let discardedCheckpoints = 0;
  let corruptCheckpoints = 0;
  let pages = 0;
  let lastLog = started;
  let lastYield = started;

  const progress = (final: boolean) => {
    const now = performance.now();
    const elapsedMs = now - started;
    try {
      options.onProgress?.(done, total, quarantined);
    } catch (error) {
      logger.error({ err: error }, "recovery progress callback failed");
    }
    const memory = process.memoryUsage();
    const fields = {
      done,
      total,
      quarantined,
      cachedJobs: target.cache.size,
      rate: Math.round((done * 1000) / Math.max(1, elapsedMs)),
      elapsedMs: Math.round(elapsedMs),
      heapUsedBytes: memory.heapUsed,
      arrayBuffersBytes: memory.arrayBuffers,
      rssBytes: memory.rss,
    };
    if (!final) logger.debug({ ...fields, page: pages }, "recovery page");
    if (final || now - lastLog >= logIntervalMs) {
      lastLog = now;
      logger.info(fields, final ? "recovery finished" : "recovery progress");
    }
  };

  /** Rebuilds one row into the cache (or quarantines or defers it). */
  const place = async (row: JobRowWithBlobs, checkpoints: Map<number, Uint8Array> | undefined): Promise<void> => {
    const outcome = rebuildJob(row, checkpoints, deps, { cacheReady });
    if (outcome.kind === "quarantine") {
      if (await quarantine(db, row, outcome.reason, logger)) {
        quarantined++;
        if (quarantinedJobs.length < MAX_LISTED_QUARANTINES) quarantinedJobs.push({ jobId: row.id, state: row.state, reason: outcome.reason });
      }
    } else if (outcome.kind === "deferred") {
      deferredReady++;
    } else {
      if (outcome.unusedCheckpoints.length > 0) {
        // Before the job can run: its re-run tasks' new checkpoints must not be shadowed.
        discardedCheckpoints += await deleteCheckpointsOfTasks(db, row.id, outcome.unusedCheckpoints);
        corruptCheckpoints += outcome.corruptCheckpoints;
        logger.info(
          { jobId: row.id, discarded: outcome.unusedCheckpoints.length, corrupt: outcome.corruptCheckpoints, restored: outcome.restoredTasks },
          "recovery discarded checkpoints it could not use; those tasks run again",
        );
      }
      // Seen before in an earlier state: the job moved while recovery paged, and this row is the newer.
      const earlier = target.cache.remove(row.id);
      if (earlier !== undefined) {
        moved.add(row.id);
        if (earlier.state in cached) cached[earlier.state as RecoverableState]--;
        logger.warn({ jobId: row.id, from: earlier.state, to: row.state }, "recovery saw a job twice: it changed state meanwhile; keeping the newer row");
      }
      restoredTasks += outcome.restoredTasks;
      target.cache.insert(outcome.jcb);
      cached[row.state as RecoverableState]++;
      logger.trace({ jobId: row.id, state: row.state, restoredTasks: outcome.restoredTasks, tasks: outcome.jcb.taskCount }, "job recovered");
    }
  };

  /** One settling pass: re-reads every job whose state differs from the cache's; returns how many. */
  const settle = async (): Promise<number> => {
    const states = cacheReady ? RECOVERABLE_STATES : RECOVERABLE_STATES.filter((state) => state !== "Ready");
    const current = new Map<bigint, RecoverableState>();
    for (const state of states) {
      for (let afterId = 0n; ; ) {
        const rows = await listJobsByState(db, { state, afterId, limit: SETTLE_PAGE });
        for (const row of rows) current.set(row.id, state);
        if (rows.length < SETTLE_PAGE) break;
        afterId = rows[rows.length - 1]!.id;
      }
    }
    const stale: bigint[] = [];
    for (const jcb of target.cache.values()) if (current.get(jcb.jobId) !== jcb.state) stale.push(jcb.jobId);
    for (const id of current.keys()) if (target.cache.get(id) === undefined) stale.push(id);
    for (const id of stale) {
      moved.add(id);
      const earlier = target.cache.remove(id);
      if (earlier !== undefined && earlier.state in cached) cached[earlier.state as RecoverableState]--;
      // Ended (or gone) meanwhile: answered from the database, like any terminal job past its retention.
      const row = await getJob(db, id, { withBlobs: true }).catch((error: unknown) => {
        if (isStorageError(error, "not_found")) return undefined;
        throw error;
      });
      if (row === undefined || !(RECOVERABLE_STATES as readonly string[]).includes(row.state)) continue;
      const checkpoints = row.state === "Running" ? (await readCheckpointsOfJobs(db, [id])).get(id) : undefined;
      await place(row, checkpoints);
    }
    return stale.length;
  };

  const moved = new Set<bigint>();
  for (const state of RECOVERABLE_STATES) {
    await options.beforeState?.(state);
    if (counts[state] === 0) continue;
    for await (const page of readPages(db, state, pageSize, options.pageBytes ?? Number.MAX_SAFE_INTEGER, readAhead)) {
      options.signal?.throwIfAborted();
      for (const row of page.rows) {
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          // Decoding is CPU work: let health checks and UNAVAILABLE answers through now and then.
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
        await place(row, page.checkpoints?.get(row.id));
        done++;
      }
      pages++;
      try {
        options.onPage?.(page.rows.length, page.bytes);
      } catch (error) {
        logger.error({ err: error }, "recovery page callback failed");
      }
      progress(false);
      if (options.pageDelayMs) await sleep(options.pageDelayMs);
    }
  }

  for (let pass = 1; ; pass++) {
    const changed = await settle();
    if (changed === 0) break;
    logger.warn({ pass, changed }, "recovery found jobs that changed while it paged (a write of the previous lease holder); re-read them");
    if (pass === MAX_SETTLE_PASSES) {
      throw new Error(`the database kept changing under recovery (${changed} jobs in settling pass ${pass}): another writer is active`);
    }
  }

  const durationMs = performance.now() - started;
  progress(true);
  const report: RecoveryReport = {
    total,
    done,
    cached,
    deferredReady,
    quarantined,
    quarantinedJobs,
    restoredTasks,
    discardedCheckpoints,
    corruptCheckpoints,
    pages,
    movedDuringRecovery: moved.size,
    durationMs,
    rate: (done * 1000) / Math.max(1, durationMs),
  };
  logger.info(
    {
      total,
      cached,
      deferredReady,
      quarantined,
      restoredTasks,
      discardedCheckpoints,
      corruptCheckpoints,
      pages,
      movedDuringRecovery: moved.size,
      durationMs: Math.round(durationMs),
      rate: Math.round(report.rate),
    },
    "recovery summary",
  );
  return report;
}

/** Fails the job with the reason; false if the row changed meanwhile (then it is not counted). */
async function quarantine(db: Db, row: JobRowWithBlobs, reason: string, logger: Logger): Promise<boolean> {
  try {
    await quarantineJob(db, row.id, reason);
  } catch (error) {
    if (!isStorageError(error, "failed_precondition") && !isStorageError(error, "not_found")) throw error;
    logger.warn({ err: error, jobId: row.id, state: row.state, reason }, "recovery could not quarantine a job: it changed meanwhile");
    return false;
  }
  logger.warn({ jobId: row.id, state: row.state, reason }, "recovery quarantined a job it cannot use: the job is Failed");
  return true;
}

/**
 * The pages of one state, in id order, each with its Running jobs'
 * checkpoints; up to `readAhead` pages are being read while the caller works
 * on the current one.
 */
async function* readPages(db: Db, state: RecoverableState, pageSize: number, pageBytes: number, readAhead: number): AsyncGenerator<Page> {
  const read = async (afterId: bigint): Promise<Page | null> => {
    const page = await readJobPage(db, { state, afterId, maxRows: pageSize, maxBytes: pageBytes });
    if (page.rows.length === 0 && page.nextAfterId === undefined) return null;
    const checkpoints = state === "Running" && page.rows.length > 0 ? await readCheckpointsOfJobs(db, page.rows.map((row) => row.id)) : undefined;
    return { rows: page.rows, bytes: page.bytes, nextAfterId: page.nextAfterId, checkpoints };
  };
  const after = (page: Page | null): Promise<Page | null> =>
    page === null || page.nextAfterId === undefined ? Promise.resolve(null) : read(page.nextAfterId);

  const queue: Promise<Page | null>[] = [];
  // A page read ahead may fail before it is awaited: mark it handled now (awaiting it still throws).
  const push = (page: Promise<Page | null>) => {
    page.catch(() => undefined);
    queue.push(page);
  };
  push(read(0n));
  while (queue.length > 0) {
    while (queue.length < readAhead + 1) push(queue[queue.length - 1]!.then(after));
    const page = await queue.shift()!;
    if (page === null) return;
    yield page;
  }
}
