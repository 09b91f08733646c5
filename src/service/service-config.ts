/**
 * The engine's tunables, in milliseconds and counts, with their defaults. The
 * composition root (src/app) maps the YAML configuration onto this.
 */
import { DEFAULT_SUBMISSION_LIMITS, type SubmissionLimits } from "../core/job-submission.ts";
import { DEFAULT_RETENTION_MS } from "../cache/job-cache-gc.ts";
import { DEFAULT_MAX_KEPT_RESULT_BYTES } from "../cache/job-reconciler.ts";
import { DEFAULT_MAX_CACHED_PAYLOAD_BYTES } from "../cache/payload-budget.ts";
import {
  DEFAULT_LINGER_MS,
  DEFAULT_MAX_ITEMS_CAP,
  DEFAULT_MAX_WAITING_POLLS,
  DEFAULT_REOFFER_UNCLAIMED_AFTER_MS,
  DEFAULT_WAIT_MS_CAP,
} from "../queue/inbound-queue.ts";
import {
  DEFAULT_DEAD_EXECUTION_MANAGER_CUTOFF_MS,
  DEFAULT_REAP_INTERVAL_MS,
  DEFAULT_SOFT_TIMEOUT_CHECK_INTERVAL_MS,
} from "../instances/task-instance-pool.ts";

export interface StorageServiceConfig {
  /** Submission limits (runtime.limits.*). */
  readonly limits?: Partial<SubmissionLimits> & {
    /** Most bytes of inputs and task outputs one cached job may hold (runtime.limits.max_payload_bytes_per_job). */
    readonly maxPayloadBytesPerJob?: number;
    /** Most bytes of reported results kept while the database is unreachable (runtime.limits.max_kept_result_bytes). */
    readonly maxKeptResultBytes?: number;
    /** Most payload bytes all cached jobs hold together (runtime.limits.max_cached_payload_bytes). */
    readonly maxCachedPayloadBytes?: number;
    /** Largest answer sent (runtime.limits.max_response_bytes); default 4 MiB, Spider's client limit. */
    readonly maxResponseBytes?: number;
  };
  readonly queue?: {
    /** runtime.queue.linger_ms; default 2. */
    readonly lingerMs?: number;
    /** runtime.limits.max_poll_items; default 10 000. */
    readonly maxItemsCap?: number;
    /** runtime.limits.max_poll_wait_ms; default 60 000. */
    readonly waitMsCap?: number;
    /** runtime.limits.max_waiting_polls; default 1 024. */
    readonly maxWaitingPolls?: number;
    /** runtime.queue.reoffer_unclaimed_after_ms; default 30 000; 0: never. */
    readonly reofferUnclaimedAfterMs?: number;
  };
  readonly instances?: {
    /** Soft-timeout check period; default 200. */
    readonly softTimeoutCheckIntervalMs?: number;
    /** runtime.task_instance_pool.execution_manager_stale_cutoff_sec × 1000; default 10 000. */
    readonly deadExecutionManagerCutoffMs?: number;
    /** runtime.task_instance_pool.gc_interval_ms; default 1 000. */
    readonly reapIntervalMs?: number;
  };
  readonly jobCache?: {
    /** runtime.job_cache_gc.terminated_job_retention_sec × 1000; default 300 000. */
    readonly retentionMs?: number;
    /** runtime.job_cache_gc.gc_interval_sec × 1000; default min(30 s, retention / 10). */
    readonly gcIntervalMs?: number;
  };
}

export interface ResolvedServiceConfig {
  readonly limits: SubmissionLimits;
  readonly maxPayloadBytesPerJob: number;
  readonly maxKeptResultBytes: number;
  readonly maxCachedPayloadBytes: number;
  readonly maxResponseBytes: number;
  readonly lingerMs: number;
  readonly maxItemsCap: number;
  readonly waitMsCap: number;
  readonly maxWaitingPolls: number;
  readonly reofferUnclaimedAfterMs: number;
  readonly softTimeoutCheckIntervalMs: number;
  readonly deadExecutionManagerCutoffMs: number;
  readonly reapIntervalMs: number;
  readonly retentionMs: number;
  readonly gcIntervalMs: number | undefined;
}

export const DEFAULT_MAX_PAYLOAD_BYTES_PER_JOB = 1024 * 1024 * 1024;
/** The largest message Spider's Rust (tonic) clients decode (DECISIONS D15). */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export function resolveServiceConfig(config: StorageServiceConfig = {}): ResolvedServiceConfig {
  const { maxPayloadBytesPerJob, maxKeptResultBytes, maxCachedPayloadBytes, maxResponseBytes, ...limits } = config.limits ?? {};
  return {
    limits: { ...DEFAULT_SUBMISSION_LIMITS, ...limits },
    maxPayloadBytesPerJob: maxPayloadBytesPerJob ?? DEFAULT_MAX_PAYLOAD_BYTES_PER_JOB,
    maxKeptResultBytes: maxKeptResultBytes ?? DEFAULT_MAX_KEPT_RESULT_BYTES,
    maxCachedPayloadBytes: maxCachedPayloadBytes ?? DEFAULT_MAX_CACHED_PAYLOAD_BYTES,
    maxResponseBytes: maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    lingerMs: config.queue?.lingerMs ?? DEFAULT_LINGER_MS,
    maxItemsCap: config.queue?.maxItemsCap ?? DEFAULT_MAX_ITEMS_CAP,
    waitMsCap: config.queue?.waitMsCap ?? DEFAULT_WAIT_MS_CAP,
    maxWaitingPolls: config.queue?.maxWaitingPolls ?? DEFAULT_MAX_WAITING_POLLS,
    reofferUnclaimedAfterMs: config.queue?.reofferUnclaimedAfterMs ?? DEFAULT_REOFFER_UNCLAIMED_AFTER_MS,
    softTimeoutCheckIntervalMs: config.instances?.softTimeoutCheckIntervalMs ?? DEFAULT_SOFT_TIMEOUT_CHECK_INTERVAL_MS,
    deadExecutionManagerCutoffMs: config.instances?.deadExecutionManagerCutoffMs ?? DEFAULT_DEAD_EXECUTION_MANAGER_CUTOFF_MS,
    reapIntervalMs: config.instances?.reapIntervalMs ?? DEFAULT_REAP_INTERVAL_MS,
    retentionMs: config.jobCache?.retentionMs ?? DEFAULT_RETENTION_MS,
    gcIntervalMs: config.jobCache?.gcIntervalMs,
  };
}
