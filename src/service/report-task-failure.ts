/**
 * ReportTaskFailure (spec §3.3): session fence → cached job → the job control
 * block consumes a retry and re-enqueues the task, or fails the job with this
 * message once retries are exhausted. Returns the job's state after the report.
 */
import { keyOfTaskId } from "../core/task-key.ts";
import { formatTaskId, type TaskId } from "../core/ids.ts";
import type { JobState } from "../core/job-state.ts";
import { checkSession } from "./check-session.ts";
import { findCachedJob } from "./find-cached-job.ts";
import type { Engine } from "../cache/engine.ts";

export interface ReportTaskFailureRequest {
  readonly sessionId: bigint;
  readonly jobId: bigint;
  readonly taskId: TaskId;
  readonly taskInstanceId: bigint;
  readonly executionManagerId: bigint;
  readonly errorMessage: string;
}

export async function reportTaskFailure(engine: Engine, request: ReportTaskFailureRequest): Promise<JobState> {
  checkSession(engine, request.sessionId);
  const jcb = findCachedJob(engine, request.jobId);
  const state = await jcb.failInstance(keyOfTaskId(request.taskId), request.taskInstanceId, request.errorMessage);
  engine.logger.info(
    {
      jobId: request.jobId,
      task: formatTaskId(request.taskId),
      taskInstanceId: request.taskInstanceId,
      executionManagerId: request.executionManagerId,
      error: request.errorMessage.slice(0, 1000),
      jobState: state,
    },
    "task instance failed",
  );
  return state;
}
