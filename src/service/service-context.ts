/**
 * Everything a use case needs, assembled once by {@link StorageService}. Use
 * cases are plain functions of this context and their request.
 */
import type { JobCache } from "../cache/job-cache.ts";
import type { JobControlBlock } from "../cache/job-control-block.ts";
import type { JobCacheGc } from "../cache/job-cache-gc.ts";
import type { JobEngine } from "../cache/job-engine.ts";
import type { JobStore } from "../db/job-store.ts";
import type { AsyncMutex } from "../cache/async-mutex.ts";
import type { SubmissionLimits } from "../core/job-submission.ts";
import type { TaskGraphCache } from "../core/task-graph-cache.ts";
import type { TaskInstancePool } from "../instances/task-instance-pool.ts";
import type { Logger } from "../observability/logger.ts";
import type { InboundQueue } from "../queue/inbound-queue.ts";

export interface ServiceContext {
  readonly sessionId: bigint;
  readonly store: JobStore;
  readonly cache: JobCache;
  readonly gc: JobCacheGc;
  readonly queue: InboundQueue;
  readonly pool: TaskInstancePool;
  readonly engine: JobEngine;
  readonly limits: SubmissionLimits;
  /** Largest answer sent (runtime.limits.max_response_bytes): larger ones are refused before they are built. */
  readonly maxResponseBytes: number;
  readonly graphCache: TaskGraphCache;
  readonly logger: Logger;
  /** Mutable service-wide flags. */
  readonly flags: ServiceFlags;
  /**
   * Loads and caches a Ready job that is not cached (recovery leaves
   * never-started jobs in the database: src/recovery/ready-job-loader.ts);
   * undefined when the job is no longer Ready. Absent: such jobs answer UNAVAILABLE.
   */
  readonly loadReadyJob?: (jobId: bigint) => Promise<JobControlBlock | undefined>;
}

export interface ServiceFlags {
  /** Polls are answered only after the first refill (after recovery). */
  refilled: boolean;
  /** Whether a scheduler registered during this process's lifetime. */
  schedulerRegistered: boolean;
  /** Serialises scheduler registrations (spec §1.4). */
  readonly schedulerMutex: AsyncMutex;
}
