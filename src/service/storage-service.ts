/**
 * Builds the engine ({@link Engine}: the job cache, the inbound queue, the
 * task-instance pool, the cache GC and the reconciler around a
 * {@link JobStore}) and runs its timers (`start`/`stop`). The use cases are
 * plain functions of the engine and their request, one file each in this
 * folder, called directly by the gRPC handlers; errors are StorageError with
 * a D5 kind, never a status code. No request can stop the service.
 */
import { AsyncMutex } from "../cache/async-mutex.ts";
import type { Engine } from "../cache/engine.ts";
import { JobCache } from "../cache/job-cache.ts";
import { JobCacheGc } from "../cache/job-cache-gc.ts";
import type { JobControlBlock } from "../cache/job-control-block.ts";
import type { RequeueCause } from "../core/requeue-cause.ts";
import { JobReconciler } from "../cache/job-reconciler.ts";
import { PayloadBudget } from "../cache/payload-budget.ts";
import type { JobState } from "../core/job-state.ts";
import { TaskGraphCache } from "../core/task-graph-cache.ts";
import type { JobStore } from "../db/job-store.ts";
import { RegisteredJobs } from "../cache/registered-jobs.ts";
import { TaskInstancePool } from "../instances/task-instance-pool.ts";
import { silentLogger, type Logger } from "../observability/logger.ts";
import { InboundQueue } from "../queue/inbound-queue.ts";
import type { Lane } from "../queue/queue-subject.ts";
import { resolveServiceConfig, type ResolvedServiceConfig, type StorageServiceConfig } from "./service-config.ts";

export interface StorageServiceHooks {
  /**
   * A regular task succeeded: its outputs wire frame as reported (the
   * checkpoint hook; children are released without waiting for it).
   * `last`: the job's last task; its success stored the job's outputs.
   */
  readonly onTaskSucceeded?: (jobId: bigint, taskIndex: number, outputs: Uint8Array, last: boolean) => void;
  /** A poll could not wait: runtime.limits.max_waiting_polls were waiting (a metric). */
  readonly onPollWaitRefused?: (lane: Lane) => void;
  /** A poll's maxItems or waitMs was above its cap and was clamped (a metric). */
  readonly onPollClamped?: (lane: Lane, field: "maxItems" | "waitMs", requested: number | bigint, cap: number) => void;
  /** A cached job reached a terminal state. */
  readonly onJobTerminal?: (jobId: bigint, state: JobState) => void;
  /** An operator reloads the job: whatever its old control block queued must not reach the database after this resolves. */
  readonly onJobReloading?: (jobId: bigint) => Promise<void>;
  /** A task went back to the inbound queue (metrics, logs). */
  readonly onTaskRequeued?: (jobId: bigint, taskKey: number, cause: RequeueCause) => void;
  /** Execution managers were declared dead; their instances were evicted (metrics). */
  readonly onExecutionManagersDead?: (ids: readonly bigint[], evictedInstances: number) => void;
}

export interface StorageServiceDeps {
  readonly store: JobStore;
  readonly sessionId: bigint;
  readonly config?: StorageServiceConfig;
  readonly logger?: Logger;
  readonly hooks?: StorageServiceHooks;
  /** Monotonic clock in ms for timeouts and ages (tests). Default `performance.now`. */
  readonly now?: () => number;
  /** Shared parsed task graphs (recovery may pass the same one). */
  readonly graphCache?: TaskGraphCache;
  /**
   * Builds the loader of uncached Ready jobs (src/recovery/ready-job-loader.ts)
   * for the engine. Absent: StartJob/CancelJob of an uncached Ready job answer UNAVAILABLE.
   */
  readonly readyJobLoader?: (engine: Engine) => (jobId: bigint) => Promise<JobControlBlock | undefined>;
}

export class StorageService {
  readonly sessionId: bigint;
  readonly store: JobStore;
  readonly config: ResolvedServiceConfig;
  readonly cache = new JobCache();
  readonly queue: InboundQueue;
  readonly pool: TaskInstancePool;
  readonly gc: JobCacheGc;
  /** Settles jobs whose last write the database has not confirmed (issue #16 B, D6 amended). */
  readonly reconciler: JobReconciler;
  /** What the use cases, recovery and every job control block work with. */
  readonly engine: Engine;
  private started = false;

  constructor(deps: StorageServiceDeps) {
    const config = resolveServiceConfig(deps.config);
    const logger = deps.logger ?? silentLogger();
    const hooks = deps.hooks ?? {};
    const now = deps.now ?? (() => performance.now());
    this.sessionId = deps.sessionId;
    this.store = deps.store;
    this.config = config;
    this.queue = new InboundQueue({
      lingerMs: config.lingerMs,
      maxItemsCap: config.maxItemsCap,
      waitMsCap: config.waitMsCap,
      maxWaitingPolls: config.maxWaitingPolls,
      reofferUnclaimedAfterMs: config.reofferUnclaimedAfterMs,
      now,
      ...(hooks.onPollClamped ? { onClamp: hooks.onPollClamped } : {}),
      ...(hooks.onPollWaitRefused ? { onWaitRefused: hooks.onPollWaitRefused } : {}),
      ...(hooks.onTaskRequeued ? { onReoffered: (subject, key) => hooks.onTaskRequeued?.(subject.jobId, key, "unclaimed_poll") } : {}),
    });
    this.pool = new TaskInstancePool(deps.store, {
      softTimeoutCheckIntervalMs: config.softTimeoutCheckIntervalMs,
      deadExecutionManagerCutoffMs: config.deadExecutionManagerCutoffMs,
      reapIntervalMs: config.reapIntervalMs,
      now,
      logger,
      ...(hooks.onExecutionManagersDead ? { onExecutionManagersDead: hooks.onExecutionManagersDead } : {}),
    });
    this.gc = new JobCacheGc(this.cache, {
      retentionMs: config.retentionMs,
      ...(config.gcIntervalMs === undefined ? {} : { intervalMs: config.gcIntervalMs }),
      now,
    });
    this.reconciler = new JobReconciler({ maxKeptBytes: config.maxKeptResultBytes, logger });
    const graphCache = deps.graphCache ?? new TaskGraphCache();
    const gc = this.gc;
    // Assigned below: the loader of Ready jobs builds its control blocks with this very engine.
    let loadReadyJob: ((jobId: bigint) => Promise<JobControlBlock | undefined>) | undefined;
    this.engine = {
      sessionId: deps.sessionId,
      store: deps.store,
      cache: this.cache,
      gc,
      queue: this.queue,
      pool: this.pool,
      logger,
      limits: config.limits,
      maxResponseBytes: config.maxResponseBytes,
      maxPayloadBytesPerJob: config.maxPayloadBytesPerJob,
      graphCache,
      reconciler: this.reconciler,
      payloadBudget: new PayloadBudget(config.maxCachedPayloadBytes),
      flags: { refilled: false, schedulerRegistered: false, schedulerMutex: new AsyncMutex() },
      onTaskSucceeded: hooks.onTaskSucceeded ?? (() => {}),
      onJobTerminal: (jobId, state) => {
        gc.track(jobId);
        hooks.onJobTerminal?.(jobId, state);
      },
      ...(hooks.onJobReloading ? { onJobReloading: hooks.onJobReloading } : {}),
      ...(hooks.onTaskRequeued ? { onTaskRequeued: hooks.onTaskRequeued } : {}),
      ...(deps.readyJobLoader ? { loadReadyJob: (jobId: bigint) => loadReadyJob!(jobId), registeredJobs: new RegisteredJobs() } : {}),
    };
    loadReadyJob = deps.readyJobLoader?.(this.engine);
  }

  /** Starts the timers: soft timeouts, dead-execution-manager reaping, cache GC, re-offers of unclaimed polls. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.pool.start();
    this.queue.start();
    this.gc.start();
    this.reconciler.start();
  }

  /** Stops the timers and ends pending polls (empty answers). */
  async stop(): Promise<void> {
    this.started = false;
    this.gc.stop();
    this.reconciler.stop();
    // Results kept while the database was unreachable: one last try to write them (what stays unwritten runs again after a restart).
    const unsettled = await this.reconciler.reconcileAll().catch(() => this.reconciler.size);
    if (unsettled > 0) this.engine.logger.warn({ unsettled }, "stopping with jobs whose last transition is not written: their tasks run again after the restart");
    this.queue.close();
    await this.pool.stop();
  }

  /** One pass over the jobs whose last write is not confirmed (the background does it too). Returns how many are left. */
  reconcileUnsettledJobs(): Promise<number> {
    return this.reconciler.reconcileAll();
  }
}
