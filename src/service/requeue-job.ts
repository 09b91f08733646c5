/**
 * The operator's `jobs requeue ID` (Conductor's requeue): re-enqueues every
 * task of the job that can take an instance and has no queue entry. With
 * `releaseInstances`, the job's live task instances are dropped first, without
 * consuming retries — for tasks held by instances that hang while their
 * execution manager still heartbeats; their tasks become ready again, and the
 * dropped instances' late reports are refused (FAILED_PRECONDITION: "the task
 * instance ID is not valid").
 */
import { failedPrecondition } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import type { Engine } from "../cache/engine.ts";

export interface RequeueResult {
  readonly state: JobState;
  /** Tasks that got a queue entry. */
  readonly enqueued: number;
  readonly releasedInstances: number;
}

export async function requeueJob(engine: Engine, jobId: bigint, options: { readonly releaseInstances: boolean }): Promise<RequeueResult> {
  const jcb = engine.cache.get(jobId);
  if (jcb === undefined) {
    const state = await engine.store.getJobState(jobId); // "not_found" for an unknown job
    throw failedPrecondition(`job ${jobId} is ${state} and not cached: it has no work to requeue`);
  }
  const queuedBefore = new Set(jcb.taskSnapshots().filter((t) => t.queued).map((t) => t.key));
  let releasedInstances = 0;
  if (options.releaseInstances) {
    for (const record of jcb.liveInstances()) {
      engine.pool.remove(record);
      jcb.evictInstance(record, "operator"); // the task is Ready again (when it was its last instance) and enqueued
      releasedInstances++;
    }
  }
  jcb.refill();
  const enqueued = jcb.taskSnapshots().filter((t) => t.queued && !queuedBefore.has(t.key)).length;
  return { state: jcb.state, enqueued, releasedInstances };
}
