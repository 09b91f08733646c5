/**
 * RegisterTaskInstance (spec §3.3): session fence → cached job → execution
 * manager known and alive (unknown or dead: "failed_precondition", checked up
 * front so no instance is ever tracked for a manager we cannot watch) → the
 * job control block registers the instance and builds its context.
 */
import type { ExecutionContext } from "../cache/job-control-block.ts";
import { keyOfTaskId } from "../cache/task-key.ts";
import type { TaskId } from "../core/ids.ts";
import { checkSession } from "./check-session.ts";
import { findCachedJob } from "./find-cached-job.ts";
import type { ServiceContext } from "./service-context.ts";

export interface RegisterTaskInstanceRequest {
  readonly sessionId: bigint;
  readonly jobId: bigint;
  readonly taskId: TaskId;
  readonly executionManagerId: bigint;
}

export async function registerTaskInstance(
  context: ServiceContext,
  request: RegisterTaskInstanceRequest,
): Promise<ExecutionContext> {
  checkSession(context, request.sessionId);
  const jcb = findCachedJob(context, request.jobId);
  await context.pool.checkExecutionManager(request.executionManagerId);
  return jcb.registerInstance(keyOfTaskId(request.taskId), request.executionManagerId);
}
