/**
 * The repairs an operator can make with the server down (the CLI holds the
 * single-writer lease, DECISIONS D3): cancel, fail and retry a job, written
 * to its row with the operator's transitions. The next server start recovers
 * the job from that row like any other (a retried job keeps the tasks whose
 * checkpoints recovery can use, exactly as `jobs retry` online does).
 */
import { failedPrecondition, isStorageError } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import type { SubmissionLimits } from "../core/job-submission.ts";
import type { Db } from "../db/connection.ts";
import { cancelJob } from "../db/jobs/cancelJob.ts";
import { failJob } from "../db/jobs/failJob.ts";
import { getJobState } from "../db/jobs/getJobState.ts";
import { retryFailedJob } from "../db/jobs/retryFailedJob.ts";
import { readCheckpointsOfJobs } from "../db/checkpoints/readCheckpointsOfJobs.ts";
import { checkJob, recoveryLimits } from "../recovery/check-job.ts";
import { OPERATOR_FAILURE_PREFIX } from "../service/fail-job-by-operator.ts";
import { decodeStoredGraph } from "./decode-stored-job.ts";
import { findJob } from "./find-job.ts";

export interface OfflineTransition {
  readonly previousState: JobState;
  readonly state: JobState;
}

export async function offlineCancelJob(db: Db, jobId: bigint, limits: SubmissionLimits): Promise<OfflineTransition> {
  const row = await findJob(db, jobId, { withBlobs: true });
  let hasCleanupTask = false;
  try {
    hasCleanupTask = decodeStoredGraph(row.compressedTaskGraph, recoveryLimits(limits)).cleanupTask !== null;
  } catch {
    // A graph that does not decode has no cleanup task we could run: the job goes straight to Cancelled.
  }
  const state = await cancelJob(db, jobId, hasCleanupTask, "operator");
  return { previousState: row.state, state };
}

export async function offlineFailJob(db: Db, jobId: bigint, reason: string): Promise<OfflineTransition> {
  await findJob(db, jobId);
  try {
    const { from } = await failJob(db, jobId, OPERATOR_FAILURE_PREFIX + reason, "operator");
    return { previousState: from, state: "Failed" };
  } catch (error) {
    if (!isStorageError(error, "failed_precondition")) throw error;
    throw failedPrecondition(`job ${jobId} is already ${await getJobState(db, jobId)}: only a job that has not ended can be failed`);
  }
}

export interface OfflineRetry extends OfflineTransition {
  /** Tasks the next start will restore from checkpoints. */
  readonly keptTasks: number;
  /** Tasks that will run again. */
  readonly rerunTasks: number;
}

export async function offlineRetryJob(db: Db, jobId: bigint, limits: SubmissionLimits): Promise<OfflineRetry> {
  const row = await findJob(db, jobId, { withBlobs: true });
  if (row.state !== "Failed") throw failedPrecondition(`job ${jobId} is ${row.state}: only a Failed job can be retried`);
  // What recovery will make of it once Running, worked out by recovery's own check (nothing is built).
  const checkpoints = (await readCheckpointsOfJobs(db, [jobId])).get(jobId);
  const outcome = checkJob({ row: { ...row, state: "Running" }, checkpoints }, { limits: recoveryLimits(limits) }, { cacheReady: true });
  if (outcome.kind === "quarantine") throw failedPrecondition(`job ${jobId} cannot be retried: ${outcome.reason}`);
  if (outcome.kind !== "usable") throw failedPrecondition(`job ${jobId} cannot be retried`);
  await retryFailedJob(db, jobId);
  const kept = outcome.job.restored.length;
  return { previousState: "Failed", state: "Running", keptTasks: kept, rerunTasks: outcome.job.graph.tasks.length - kept };
}
