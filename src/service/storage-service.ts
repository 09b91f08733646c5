/**
 * The composition root of the engine: builds the job cache, the inbound
 * queue, the task-instance pool and the cache GC around a {@link JobStore}
 * (MariaDbJobStore in production, MemoryJobStore in engine tests), and exposes
 * one method per use case (one file each in this folder), plus the timers
 * (`start`/`stop`), the refill, and read-only inspection for the admin API.
 * Inputs and outputs are plain TypeScript; errors are StorageError with a
 * D5 kind, never a status code. No request can stop the service.
 */
import { AsyncMutex } from "../cache/async-mutex.ts";
import { JobCache } from "../cache/job-cache.ts";
import { JobCacheGc } from "../cache/job-cache-gc.ts";
import { JobReconciler } from "../cache/job-reconciler.ts";
import { PayloadBudget } from "../cache/payload-budget.ts";
import type { ExecutionContext, JobControlBlock } from "../cache/job-control-block.ts";
import type { JobEngine, RequeueCause } from "../cache/job-engine.ts";
import type { JobStore, SchedulerRecord } from "../db/job-store.ts";
import type { JobState } from "../core/job-state.ts";
import { TaskGraphCache } from "../core/task-graph-cache.ts";
import type { Db } from "../db/connection.ts";
import { TaskInstancePool } from "../instances/task-instance-pool.ts";
import { silentLogger, type Logger } from "../observability/logger.ts";
import { InboundQueue, type LaneStats } from "../queue/inbound-queue.ts";
import type { Lane } from "../queue/queue-subject.ts";
import { addResourceGroup } from "./add-resource-group.ts";
import { cancelJob } from "./cancel-job.ts";
import { getJobError } from "./get-job-error.ts";
import { getJobOutputs } from "./get-job-outputs.ts";
import { getJobState } from "./get-job-state.ts";
import { getSchedulers } from "./get-schedulers.ts";
import { heartbeatExecutionManager } from "./heartbeat-execution-manager.ts";
import {
  jobTasks,
  listCachedJobs,
  liveInstances,
  queueStats,
  type CachedJobSummary,
  type LiveInstanceView,
  type TaskView,
} from "./inspect-engine.ts";
import {
  pollReadyTasks,
  returnUndeliveredTasks,
  type PollReadyTasksRequest,
  type PollReadyTasksResult,
  type ReadyTask,
} from "./poll-ready-tasks.ts";
import { refillQueue } from "./refill-queue.ts";
import { registerExecutionManager, type ExecutionManagerRegistration } from "./register-execution-manager.ts";
import { registerJob, type RegisterJobRequest } from "./register-job.ts";
import { registerScheduler, type SchedulerRegistration } from "./register-scheduler.ts";
import { registerTaskInstance, type RegisterTaskInstanceRequest } from "./register-task-instance.ts";
import { reportTaskFailure, type ReportTaskFailureRequest } from "./report-task-failure.ts";
import { reportTaskSuccess, type ReportTaskSuccessRequest } from "./report-task-success.ts";
import { resolveServiceConfig, type ResolvedServiceConfig, type StorageServiceConfig } from "./service-config.ts";
import type { ServiceContext } from "./service-context.ts";
import { startJob } from "./start-job.ts";
import { verifyResourceGroup } from "./verify-resource-group.ts";

export type QueueLane = Lane;
export type {
  CachedJobSummary,
  ExecutionContext,
  ExecutionManagerRegistration,
  LiveInstanceView,
  PollReadyTasksRequest,
  PollReadyTasksResult,
  ReadyTask,
  RegisterJobRequest,
  RegisterTaskInstanceRequest,
  ReportTaskFailureRequest,
  ReportTaskSuccessRequest,
  SchedulerRecord,
  SchedulerRegistration,
  StorageServiceConfig,
  TaskView,
};

export interface StorageServiceHooks {
  /**
   * A regular task succeeded: its outputs wire frame as reported (the
   * checkpoint hook; children are released without waiting for it).
   */
  readonly onTaskSucceeded?: (jobId: bigint, taskIndex: number, outputs: Uint8Array) => void;
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
  /** The database behind a MariaDbJobStore, for callers that want it at hand (unused by the engine). */
  readonly db?: Db;
  readonly sessionId: bigint;
  readonly config?: StorageServiceConfig;
  readonly logger?: Logger;
  readonly hooks?: StorageServiceHooks;
  /** Monotonic clock in ms for timeouts and ages (tests). Default `performance.now`. */
  readonly now?: () => number;
  /** Shared parsed task graphs (recovery may pass the same one). */
  readonly graphCache?: TaskGraphCache;
  /**
   * Builds the loader of uncached Ready jobs (src/recovery/ready-job-loader.ts),
   * given what the JCBs share. Absent: StartJob/CancelJob of an uncached Ready job answer UNAVAILABLE.
   */
  readonly readyJobLoader?: (target: ReadyJobLoaderTarget) => (jobId: bigint) => Promise<JobControlBlock | undefined>;
}

/** What a loader of Ready jobs builds control blocks with. */
export interface ReadyJobLoaderTarget {
  readonly cache: JobCache;
  readonly engine: JobEngine;
  readonly limits: ResolvedServiceConfig["limits"];
  readonly graphCache: TaskGraphCache;
}

export class StorageService {
  readonly sessionId: bigint;
  readonly store: JobStore;
  readonly db: Db | undefined;
  readonly config: ResolvedServiceConfig;
  readonly cache = new JobCache();
  readonly queue: InboundQueue;
  readonly pool: TaskInstancePool;
  readonly gc: JobCacheGc;
  /** Settles jobs whose last write the database has not confirmed (issue #16 B, D6 amended). */
  readonly reconciler: JobReconciler;
  /** What each job control block shares; recovery builds its JCBs with it. */
  readonly engine: JobEngine;
  readonly context: ServiceContext;
  private started = false;

  constructor(deps: StorageServiceDeps) {
    const config = resolveServiceConfig(deps.config);
    const logger = deps.logger ?? silentLogger();
    const hooks = deps.hooks ?? {};
    const now = deps.now ?? (() => performance.now());
    this.sessionId = deps.sessionId;
    this.store = deps.store;
    this.db = deps.db;
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
    const gc = this.gc;
    this.reconciler = new JobReconciler({ maxKeptBytes: config.maxKeptResultBytes, logger });
    this.engine = {
      store: deps.store,
      queue: this.queue,
      pool: this.pool,
      logger,
      maxPayloadBytesPerJob: config.maxPayloadBytesPerJob,
      reconciler: this.reconciler,
      payloadBudget: new PayloadBudget(config.maxCachedPayloadBytes),
      ...(hooks.onJobReloading ? { onJobReloading: hooks.onJobReloading } : {}),
      onTaskSucceeded: hooks.onTaskSucceeded ?? (() => {}),
      onJobTerminal: (jcb) => {
        gc.track(jcb.jobId);
        hooks.onJobTerminal?.(jcb.jobId, jcb.state);
      },
      ...(hooks.onTaskRequeued ? { onTaskRequeued: hooks.onTaskRequeued } : {}),
    };
    const graphCache = deps.graphCache ?? new TaskGraphCache();
    this.context = {
      sessionId: deps.sessionId,
      store: deps.store,
      cache: this.cache,
      gc: this.gc,
      queue: this.queue,
      pool: this.pool,
      engine: this.engine,
      limits: config.limits,
      maxResponseBytes: config.maxResponseBytes,
      graphCache,
      logger,
      flags: { refilled: false, schedulerRegistered: false, schedulerMutex: new AsyncMutex() },
      ...(deps.readyJobLoader
        ? { loadReadyJob: deps.readyJobLoader({ cache: this.cache, engine: this.engine, limits: config.limits, graphCache }) }
        : {}),
    };
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

  /** Enqueues all ready work not yet queued; the first call opens the polls. Returns how many entries were added. */
  refillQueue(): number {
    return refillQueue(this.context);
  }

  // ---- JobOrchestrationService ----------------------------------------------------------

  registerJob(request: RegisterJobRequest): Promise<bigint> {
    return registerJob(this.context, request);
  }

  startJob(jobId: bigint): Promise<JobState> {
    return startJob(this.context, jobId);
  }

  cancelJob(jobId: bigint): Promise<JobState> {
    return cancelJob(this.context, jobId);
  }

  getJobState(jobId: bigint): Promise<JobState> {
    return getJobState(this.context, jobId);
  }

  /** SerializedTaskOutputs raw bytes. */
  getJobOutputs(jobId: bigint): Promise<Uint8Array> {
    return getJobOutputs(this.context, jobId);
  }

  getJobError(jobId: bigint): Promise<string> {
    return getJobError(this.context, jobId);
  }

  // ---- TaskInstanceManagementService ----------------------------------------------------

  registerTaskInstance(request: RegisterTaskInstanceRequest): Promise<ExecutionContext> {
    return registerTaskInstance(this.context, request);
  }

  reportTaskSuccess(request: ReportTaskSuccessRequest): Promise<JobState> {
    return reportTaskSuccess(this.context, request);
  }

  reportTaskFailure(request: ReportTaskFailureRequest): Promise<JobState> {
    return reportTaskFailure(this.context, request);
  }

  // ---- InboundQueueService --------------------------------------------------------------

  pollReadyTasks(lane: Lane, request: PollReadyTasksRequest): Promise<PollReadyTasksResult> {
    return pollReadyTasks(this.context, lane, request);
  }

  /** Puts tasks of an answer that never reached its caller back at the front of their lanes. */
  returnUndeliveredTasks(tasks: readonly ReadyTask[]): void {
    returnUndeliveredTasks(this.context, tasks);
  }

  // ---- ResourceGroupManagementService ---------------------------------------------------

  addResourceGroup(externalId: string, password: Uint8Array): Promise<bigint> {
    return addResourceGroup(this.context, externalId, password);
  }

  verifyResourceGroup(resourceGroupId: bigint, password: Uint8Array): Promise<void> {
    return verifyResourceGroup(this.context, resourceGroupId, password);
  }

  // ---- ExecutionManagerLivenessService --------------------------------------------------

  registerExecutionManager(ipAddress: string): Promise<ExecutionManagerRegistration> {
    return registerExecutionManager(this.context, ipAddress);
  }

  /** Returns the session id. */
  heartbeatExecutionManager(executionManagerId: bigint): Promise<bigint> {
    return heartbeatExecutionManager(this.context, executionManagerId);
  }

  // ---- SchedulerRegistrationService -----------------------------------------------------

  registerScheduler(host: string, port: number): Promise<SchedulerRegistration> {
    return registerScheduler(this.context, host, port);
  }

  getSchedulers(): Promise<SchedulerRecord[]> {
    return getSchedulers(this.context);
  }

  // ---- SessionManagementService ---------------------------------------------------------

  getSession(): bigint {
    return this.sessionId;
  }

  // ---- Inspection (admin API) -----------------------------------------------------------

  listCachedJobs(): CachedJobSummary[] {
    return listCachedJobs(this.context);
  }

  jobTasks(jobId: bigint): TaskView[] {
    return jobTasks(this.context, jobId);
  }

  queueStats(): Record<Lane, LaneStats> {
    return queueStats(this.context);
  }

  liveInstances(): LiveInstanceView[] {
    return liveInstances(this.context);
  }
}
