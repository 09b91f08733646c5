/**
 * The operator's `jobs retry ID` (DECISIONS D4: Failed → Running, by the
 * operator only). What runs again, exactly:
 *
 * - every regular task is kept Succeeded, with its checkpointed outputs, when
 *   it has a checkpoint that decodes and every one of its ancestors is kept
 *   too (DECISIONS D9) — except the job's last unfinished task, which always
 *   runs again so the job's outputs are committed by the normal path;
 * - every other regular task runs again: the task that failed, tasks cancelled
 *   when the job failed, tasks that never started, tasks that succeeded without
 *   a durable checkpoint, and every descendant of any of these;
 * - each task that runs again has its full retry budget (max_num_retry);
 * - the commit task runs after the last task as usual; a job that failed in
 *   its commit task therefore re-runs its last task and then commit (commit and
 *   cleanup tasks must be idempotent, as the README says);
 * - a job that failed during cleanup (it had been cancelled) is Running again
 *   too: retry cannot tell, and the job's own tasks run.
 *
 * The stored graph and inputs are decoded before anything changes: a row that
 * does not decode (a quarantined job, say) is refused with FAILED_PRECONDITION
 * and stays Failed. Then the row moves Failed → Running (clearing the error,
 * the outputs and the end time) and the job is rebuilt in the cache.
 */
import { failedPrecondition, isStorageError } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import { validateJobSubmission } from "../core/job-submission.ts";
import { recoveryLimits } from "../recovery/check-job.ts";
import { reloadJob, type ReloadedJob } from "./reload-job.ts";
import type { Engine } from "../cache/engine.ts";

export async function retryFailedJob(engine: Engine, jobId: bigint): Promise<ReloadedJob & { previousState: JobState }> {
  const row = await engine.store.getJob(jobId);
  if (row.state !== "Failed") throw failedPrecondition(`job ${jobId} is ${row.state}: only a Failed job can be retried`);
  try {
    validateJobSubmission(row.compressedTaskGraph, row.compressedInputs, recoveryLimits(engine.limits), engine.graphCache);
  } catch (error) {
    if (!isStorageError(error, "invalid_argument")) throw error;
    throw failedPrecondition(`job ${jobId} cannot be retried: its stored graph or inputs do not decode: ${error.message}`);
  }
  await engine.store.retryFailedJob(jobId);
  return { previousState: "Failed", ...(await reloadJob(engine, jobId)) };
}
