/**
 * The engine: one object per server lifetime holding everything the use
 * cases, restart recovery and the loaders of Ready jobs work with. Built once
 * by src/service/storage-service.ts. A job control block sees only the part
 * every job shares ({@link JobEngine}, which this extends): it must not know
 * the cache it sits in.
 */
import type { SubmissionLimits } from "../core/job-submission.ts";
import type { TaskGraphCache } from "../core/task-graph-cache.ts";
import type { AsyncMutex } from "./async-mutex.ts";
import type { JobCache } from "./job-cache.ts";
import type { JobCacheGc } from "./job-cache-gc.ts";
import type { JobControlBlock } from "./job-control-block.ts";
import type { JobEngine } from "./job-engine.ts";
import type { RegisteredJobs } from "./registered-jobs.ts";

export interface Engine extends JobEngine {
  readonly sessionId: bigint;
  readonly cache: JobCache;
  readonly gc: JobCacheGc;
  readonly limits: SubmissionLimits;
  /** Largest answer sent (runtime.limits.max_response_bytes): larger ones are refused before they are built. */
  readonly maxResponseBytes: number;
  /** Parsed task graphs shared by jobs with the same graph. */
  readonly graphCache: TaskGraphCache;
  /** Mutable service-wide flags. */
  readonly flags: EngineFlags;
  /**
   * Loads and caches a Ready job that is not cached (recovery leaves
   * never-started jobs in the database: src/recovery/ready-job-loader.ts);
   * undefined when the job is no longer Ready. Absent: such jobs answer UNAVAILABLE.
   */
  readonly loadReadyJob?: (jobId: bigint) => Promise<JobControlBlock | undefined>;
  /** Jobs just registered, kept for the StartJob that follows (with loadReadyJob only). */
  readonly registeredJobs?: RegisteredJobs;
}

export interface EngineFlags {
  /** Polls are answered only after the first refill (after recovery). */
  refilled: boolean;
  /** Whether a scheduler registered during this process's lifetime. */
  schedulerRegistered: boolean;
  /** Serialises scheduler registrations (spec §1.4). */
  readonly schedulerMutex: AsyncMutex;
}
