/**
 * The part of the engine ({@link Engine}, engine.ts) a job control block
 * sees: the store, the inbound queue, the instance pool, and the hooks. One
 * object per service, referenced by each JCB (one pointer per job, no per-job
 * closures). It names no cache: a job does not know where it is kept.
 */
import type { Logger } from "../observability/logger.ts";
import type { InboundQueue } from "../queue/inbound-queue.ts";
import type { TaskInstancePool } from "../instances/task-instance-pool.ts";
import type { JobStore } from "../db/job-store.ts";
import type { JobState } from "../core/job-state.ts";
import type { RequeueCause } from "../core/requeue-cause.ts";
import type { JobReconciler } from "./job-reconciler.ts";
import type { PayloadBudget } from "./payload-budget.ts";

export interface JobEngine {
  readonly store: JobStore;
  readonly queue: InboundQueue;
  readonly pool: TaskInstancePool;
  readonly logger: Logger;
  /** Most bytes of inputs and task outputs one job may hold; beyond it the job fails. */
  readonly maxPayloadBytesPerJob: number;
  /**
   * Settles jobs whose cached state the database has not confirmed, and bounds
   * the results kept while it is unreachable. Absent (offline tools): a result
   * that cannot be written is not kept, and its task runs again.
   */
  readonly reconciler?: JobReconciler;
  /** Bounds the payload bytes all cached jobs hold together. Absent (offline tools): no bound. */
  readonly payloadBudget?: PayloadBudget;
  /**
   * A regular task succeeded (children already released): the checkpoint
   * hook. `outputs` is the wire frame the execution manager reported.
   * `last`: it was the job's last task, whose success stored the job's
   * outputs with the job's move out of Running (no checkpoint needed).
   */
  onTaskSucceeded(jobId: bigint, taskIndex: number, outputs: Uint8Array, last: boolean): void;
  /**
   * An operator is about to rebuild the job from its row (reload-job.ts):
   * resolves once nothing its old control block queued (checkpoints) can
   * still reach the database.
   */
  onJobReloading?(jobId: bigint): Promise<void>;
  /** A cached job reached a terminal state (the cache GC starts its retention clock). */
  onJobTerminal(jobId: bigint, state: JobState): void;
  /** A task was given back to the inbound queue, and why (metrics and logs; must not throw). */
  onTaskRequeued?(jobId: bigint, taskKey: number, cause: RequeueCause): void;
}
