/**
 * ReportTaskSuccess (spec §3.3): session fence → cached job → the job control
 * block applies the success. Undecodable outputs or the wrong count answer
 * "invalid_argument" and count as a failed instance (DECISIONS D5). The
 * reporting execution manager id is not checked against the instance's owner
 * (as in Spider). Returns the job's state after the report.
 */
import { keyOfTaskId } from "../core/task-key.ts";
import type { TaskId } from "../core/ids.ts";
import type { JobState } from "../core/job-state.ts";
import { checkSession } from "./check-session.ts";
import { findCachedJob } from "./find-cached-job.ts";
import type { Engine } from "../cache/engine.ts";

export interface ReportTaskSuccessRequest {
  readonly sessionId: bigint;
  readonly jobId: bigint;
  readonly taskId: TaskId;
  readonly taskInstanceId: bigint;
  readonly executionManagerId: bigint;
  /** Regular task: its outputs as an uncompressed wire frame. Ignored for commit and cleanup. */
  readonly serializedOutputs: Uint8Array;
}

export async function reportTaskSuccess(engine: Engine, request: ReportTaskSuccessRequest): Promise<JobState> {
  checkSession(engine, request.sessionId);
  const jcb = findCachedJob(engine, request.jobId);
  return jcb.succeedInstance(keyOfTaskId(request.taskId), request.taskInstanceId, request.serializedOutputs);
}
