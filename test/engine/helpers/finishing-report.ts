/**
 * A job brought to the report that ends it — the last task's success, the
 * commit task's or the cleanup task's — with that task polled, so a test can
 * make the job transition fail and watch what the report does (D6).
 */
import { CLEANUP_TASK, COMMIT_TASK, taskIndex, type TaskId } from "../../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder } from "../../../testkit/task-graph-builder.ts";
import type { JobState } from "../../../src/core/job-state.ts";
import type { Harness } from "./harness.ts";
import { cancelJob } from "../../../src/service/cancel-job.ts";
import { getJobState } from "../../../src/service/get-job-state.ts";

export interface FinishingJob {
  readonly jobId: bigint;
  /** The task whose report ends the job. */
  readonly taskId: TaskId;
  /** The queue lane that task is polled from. */
  readonly lane: "task" | "commit" | "cleanup";
  /** The job's state before that report. */
  readonly before: JobState;
}

/**
 * `write` is the store operation the report will need: "succeedCommittedJob"
 * (the commit task's report), "finishCleanup" (the cleanup task's, after a
 * cancel), anything else (commitJobOutputs, failJob) the only regular task's.
 */
export async function jobAtFinishingReport(h: Harness, write: string): Promise<FinishingJob> {
  const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry: 0 } });
  if (write === "succeedCommittedJob") builder.commit();
  if (write === "finishCleanup") builder.cleanup();
  const { jobId } = await h.submitAndStart(builder);
  let taskId: TaskId = taskIndex(0);
  let lane: "task" | "commit" | "cleanup" = "task";
  if (write === "succeedCommittedJob") {
    const t = await h.register(jobId, 0);
    await h.succeed(jobId, 0, t.taskInstanceId, [new TextEncoder().encode("v")]);
    taskId = COMMIT_TASK;
    lane = "commit";
  } else if (write === "finishCleanup") {
    await cancelJob(h.service.engine, jobId);
    taskId = CLEANUP_TASK;
    lane = "cleanup";
  }
  await h.drain(lane);
  return { jobId, taskId, lane, before: await getJobState(h.service.engine, jobId) };
}
