/**
 * The operator's `jobs fail ID --reason …`: any non-terminal job → Failed
 * with "failed by operator: <reason>" (DECISIONS D4 allows it from Ready too).
 * The row is written first, under its lock; then the job leaves the cache
 * (see reload-job.ts) and is answered from the database. A transition the old
 * block was writing at the same time loses to ours at the row lock and adopts
 * Failed. A job already terminal is refused with FAILED_PRECONDITION.
 */
import { failedPrecondition, isStorageError } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import { retireCachedJob } from "./reload-job.ts";
import type { Engine } from "../cache/engine.ts";

export const OPERATOR_FAILURE_PREFIX = "failed by operator: ";

export async function failJobByOperator(
  engine: Engine,
  jobId: bigint,
  reason: string,
): Promise<{ previousState: JobState; state: JobState }> {
  let previousState: JobState;
  try {
    previousState = await engine.store.failJobBy(jobId, OPERATOR_FAILURE_PREFIX + reason, "operator");
  } catch (error) {
    if (!isStorageError(error, "failed_precondition")) throw error;
    const state = await engine.store.getJobState(jobId);
    throw failedPrecondition(`job ${jobId} is already ${state}: only a job that has not ended can be failed`);
  }
  retireCachedJob(engine, jobId);
  return { previousState, state: "Failed" };
}
