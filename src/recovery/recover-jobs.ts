/**
 * Restart recovery (spec §5, DECISIONS D2, D4, D8, D9): rebuilds the job
 * cache from the database before the server serves — or, with a checking
 * sink, the dry run of it (`recover --dry-run`): every row read and checked
 * exactly as the restart would, and counted, with no control block built and
 * nothing written, deleted or cached (see {@link RecoverySink}).
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
 * Each row goes the way a single job goes when the Ready-job loader or the
 * operator's reload rebuilds it: checked (check-job.ts), then rebuilt
 * (rebuild-job.ts). A row that cannot be used does not stop the start-up:
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
 *
 * The dry run reads like the restart but writes nothing: the rows it would
 * quarantine and the checkpoints it would delete are counted, and it has no
 * settling pass (it caches nothing that could go stale).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Engine } from "../cache/engine.ts";
import { isStorageError } from "../core/errors.ts";
import type { SubmissionLimits } from "../core/job-submission.ts";
import type { TaskGraphCache } from "../core/task-graph-cache.ts";
import type { Db } from "../db/connection.ts";
import { MariaDbJobStore } from "../db/mariadb-job-store.ts";
import { countJobsByState } from "../db/jobs/countJobsByState.ts";
import type { JobRowWithBlobs } from "../db/jobs/job-row.ts";
import { listJobsByState } from "../db/jobs/listJobsByState.ts";
import { readJobPage } from "../db/jobs/readJobPage.ts";
import { quarantineJob } from "../db/jobs/quarantineJob.ts";
import type { Logger } from "../observability/logger.ts";
import { deleteCheckpointsOfTasks } from "../db/checkpoints/deleteCheckpointsOfTasks.ts";
import { readCheckpointsOfJobs } from "../db/checkpoints/readCheckpointsOfJobs.ts";
import { checkJob, recoveryLimits, type CheckOutcome, type RecoveryDecoding } from "./check-job.ts";
import { rebuildJob } from "./rebuild-job.ts";
import {
  MAX_LISTED_QUARANTINES,
  RECOVERABLE_STATES,
  type QuarantinedJob,
  type RecoverableState,
  type RecoveryReport,
} from "./recovery-report.ts";
import { readStoredJob, type StoredJob } from "./stored-job.ts";

/**
 * What recovery does with the rows it reads:
 * - `{ fill: engine }`, the restart: every usable job is rebuilt into the
 *   engine's cache (decoded under the engine's limits, sharing its parsed
 *   graphs), every row that cannot be used is quarantined, unused checkpoints
 *   are deleted, and a settling pass follows;
 * - `{ check }`, the dry run: every row is checked as the restart would check
 *   it and counted (the report's `cached`, `quarantined`, `discardedCheckpoints`
 *   are what the restart would do); no control block, engine or store is
 *   built and nothing is written.
 */
export type RecoverySink = { readonly fill: Engine } | { readonly check: RecoveryCheck };

export interface RecoveryCheck {
  /** The configured submission limits (recovery never decodes under tighter ones than the defaults). */
  readonly limits: SubmissionLimits;
  readonly graphCache?: TaskGraphCache;
  /** Called once with the rows per state, counted when recovery began. */
  readonly onCounted?: (counts: Readonly<Record<RecoverableState, number>>) => void;
  /** Called for every row read, with what the restart would do with it. */
  readonly onChecked?: (stored: StoredJob, outcome: CheckOutcome) => void;
}

export interface RecoverJobsOptions {
  readonly db: Db;
  readonly sink: RecoverySink;
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
  const { db, sink, logger, pageSize } = options;
  const readAhead = Math.max(0, options.readAhead ?? 1);
  const cacheReady = options.cacheReadyJobs ?? false;
  const logIntervalMs = options.logIntervalMs ?? 1_000;
  // The restart's engine, or undefined for the dry run: then nothing is built or written.
  const engine = "fill" in sink ? sink.fill : undefined;
  const check = "check" in sink ? sink.check : undefined;
  const decoding: RecoveryDecoding = engine
    ? { limits: recoveryLimits(engine.limits), graphCache: engine.graphCache }
    : { limits: recoveryLimits(check!.limits), ...(check!.graphCache ? { graphCache: check!.graphCache } : {}) };
  const started = performance.now();

  const counts = await countJobsByState(db);
  check?.onCounted?.(counts);
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
    const logInfo = final || now - lastLog >= logIntervalMs;
    // process.memoryUsage() reads /proc: only for a line that is written (it was ~2 % of a 100 000-job recovery's samples).
    if (!logInfo && !logger.isLevelEnabled("debug")) return;
    const memory = process.memoryUsage();
    const fields = {
      done,
      total,
      quarantined,
      cachedJobs: engine ? engine.cache.size : RECOVERABLE_STATES.reduce((sum, state) => sum + cached[state], 0),
      rate: Math.round((done * 1000) / Math.max(1, elapsedMs)),
      elapsedMs: Math.round(elapsedMs),
      heapUsedBytes: memory.heapUsed,
      arrayBuffersBytes: memory.arrayBuffers,
      rssBytes: memory.rss,
    };
    if (!final) logger.debug({ ...fields, page: pages }, "recovery page");
    if (logInfo) {
      lastLog = now;
      logger.info(fields, final ? "recovery finished" : "recovery progress");
    }
  };

  /** Checks one row, then rebuilds it into the cache (or quarantines or defers it); the dry run only counts. */
  const place = async (stored: StoredJob): Promise<void> => {
    const { row } = stored;
    const outcome = checkJob(stored, decoding, { cacheReady });
    check?.onChecked?.(stored, outcome);
    if (outcome.kind === "quarantine") {
      if (engine === undefined || (await quarantine(db, row, outcome.reason, logger))) {
        quarantined++;
        if (quarantinedJobs.length < MAX_LISTED_QUARANTINES) quarantinedJobs.push({ jobId: row.id, state: row.state, reason: outcome.reason });
      }
      return;
    }
    if (outcome.kind === "deferred") {
      deferredReady++;
      return;
    }
    const job = outcome.job;
    const jcb = engine ? rebuildJob(job, engine) : undefined;
    if (job.unusedCheckpoints.length > 0) {
      corruptCheckpoints += job.corruptCheckpoints;
      if (engine === undefined) {
        discardedCheckpoints += job.unusedCheckpoints.length;
      } else {
        // Before the job can run: its re-run tasks' new checkpoints must not be shadowed.
        discardedCheckpoints += await deleteCheckpointsOfTasks(db, row.id, job.unusedCheckpoints);
        logger.info(
          { jobId: row.id, discarded: job.unusedCheckpoints.length, corrupt: job.corruptCheckpoints, restored: job.restored.length },
          "recovery discarded checkpoints it could not use; those tasks run again",
        );
      }
    }
    restoredTasks += job.restored.length;
    cached[job.state]++;
    if (engine === undefined || jcb === undefined) return;
    // Seen before in an earlier state: the job moved while recovery paged, and this row is the newer.
    const earlier = engine.cache.remove(row.id);
    if (earlier !== undefined) {
      moved.add(row.id);
      if (earlier.state in cached) cached[earlier.state as RecoverableState]--;
      logger.warn({ jobId: row.id, from: earlier.state, to: row.state }, "recovery saw a job twice: it changed state meanwhile; keeping the newer row");
    }
    engine.cache.insert(jcb);
    logger.trace({ jobId: row.id, state: row.state, restoredTasks: job.restored.length, tasks: jcb.taskCount }, "job recovered");
  };

  /** One settling pass: re-reads every job whose state differs from the cache's; returns how many. */
  const settle = async ({ cache }: Engine): Promise<number> => {
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
    for (const jcb of cache.values()) if (current.get(jcb.jobId) !== jcb.state) stale.push(jcb.jobId);
    for (const id of current.keys()) if (cache.get(id) === undefined) stale.push(id);
    for (const id of stale) {
      moved.add(id);
      const earlier = cache.remove(id);
      if (earlier !== undefined && earlier.state in cached) cached[earlier.state as RecoverableState]--;
      // Ended (or gone) meanwhile: answered from the database, like any terminal job past its retention.
      // Straight from the database, as the pages are (not through the engine's fault-injecting store).
      const stored = await readStoredJob(new MariaDbJobStore(db), id).catch((error: unknown) => {
        if (isStorageError(error, "not_found")) return undefined;
        throw error;
      });
      if (stored === undefined || !(RECOVERABLE_STATES as readonly string[]).includes(stored.row.state)) continue;
      await place(stored);
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
        await place({ row, checkpoints: page.checkpoints?.get(row.id) });
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

  // The dry run (no engine) caches nothing that could be stale.
  for (let pass = 1; engine !== undefined; pass++) {
    const changed = await settle(engine);
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
  // The latest read started; with readAhead 0 the queue is empty between pages.
  let newest: Promise<Page | null> | undefined;
  for (;;) {
    while (queue.length < readAhead + 1) {
      newest = newest === undefined ? read(0n) : newest.then(after);
      // A page read ahead may fail before it is awaited: mark it handled now (awaiting it still throws).
      newest.catch(() => undefined);
      queue.push(newest);
    }
    const page = await queue.shift()!;
    if (page === null) return;
    yield page;
  }
}
