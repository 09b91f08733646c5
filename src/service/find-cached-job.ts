/**
 * The job lookup of the task-instance calls: they act only on cached jobs, and
 * a job that is not cached is stale state for the caller (FAILED_PRECONDITION,
 * which Spider's execution manager answers by dropping the assignment).
 */
import type { JobControlBlock } from "../cache/job-control-block.ts";
import { failedPrecondition } from "../core/errors.ts";
import type { Engine } from "../cache/engine.ts";

export function findCachedJob(engine: Engine, jobId: bigint): JobControlBlock {
  const jcb = engine.cache.get(jobId);
  if (jcb === undefined) throw failedPrecondition(`cache stale: job not found in cache: ${jobId}`);
  return jcb;
}
