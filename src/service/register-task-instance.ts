/**
 * RegisterTaskInstance (spec §3.3): session fence → cached job → execution
 * manager known and alive (unknown or dead: "failed_precondition", checked up
 * front so no instance is ever tracked for a manager we cannot watch) → the
 * job control block registers the instance and builds its engine.
 *
 * The instance exists before its answer leaves, so an answer nobody will read
 * must not leave it behind — with the default max_num_instances of 1 the task
 * would stay Running for as long as the execution manager heartbeats:
 * - the caller went away (cancelled, deadline passed; `signal` aborted): the
 *   instance is withdrawn and the task queued again, no retry consumed;
 * - the answer would exceed runtime.limits.max_response_bytes (Spider's
 *   clients read at most 4 MiB): refused before it is built, FAILED_PRECONDITION
 *   (Spider's execution manager drops the assignment and carries on; on
 *   RESOURCE_EXHAUSTED it would exit). A task's inputs never change, so
 *   every retry would be refused the same way: the job fails at once, naming
 *   the limit, whatever retries the task has left.
 */
import type { ExecutionContext } from "../cache/job-control-block.ts";
import { keyOfTaskId } from "../core/task-key.ts";
import { failedPrecondition, isStorageError, type StorageError } from "../core/errors.ts";
import { formatTaskId, type TaskId } from "../core/ids.ts";
import { checkSession } from "./check-session.ts";
import { findCachedJob } from "./find-cached-job.ts";
import type { Engine } from "../cache/engine.ts";

export interface RegisterTaskInstanceRequest {
  readonly sessionId: bigint;
  readonly jobId: bigint;
  readonly taskId: TaskId;
  readonly executionManagerId: bigint;
  /** Aborted when the caller went away: the instance, if registered, is withdrawn. */
  readonly signal?: AbortSignal;
}

/** The configuration key named when an answer is too large. */
export const MAX_RESPONSE_BYTES_KEY = "runtime.limits.max_response_bytes";

/**
 * Upper bound of the protobuf framing around the payload and the TDL strings
 * in a RegisterTaskInstanceResponse: tags and length prefixes (≤ 6 bytes each
 * for the response, engine, TDL engine, timeout policy, payload and both
 * strings) plus three uint64 varints (≤ 11 bytes each).
 */
const ANSWER_FRAMING_BYTES = 7 * 6 + 3 * 11;

export async function registerTaskInstance(
  engine: Engine,
  request: RegisterTaskInstanceRequest,
): Promise<ExecutionContext> {
  checkSession(engine, request.sessionId);
  const jcb = findCachedJob(engine, request.jobId);
  await engine.pool.checkExecutionManager(request.executionManagerId);
  // Registered even when the caller has gone already: withdrawing below puts the task back in the queue.
  const key = keyOfTaskId(request.taskId);
  const execution = await jcb.registerInstance(key, request.executionManagerId);
  engine.queue.claim(jcb, key);

  const bytes = answerBytes(execution);
  if (bytes > engine.maxResponseBytes) {
    const reason = `task ${formatTaskId(request.taskId)} of job ${request.jobId}: its RegisterTaskInstance answer (${bytes} bytes with its inputs) is above the limit of ${engine.maxResponseBytes} bytes (${MAX_RESPONSE_BYTES_KEY})`;
    await failAttempt(engine, jcb, key, execution.taskInstanceId, reason);
    throw failedPrecondition(reason);
  }
  if (request.signal?.aborted) {
    withdraw(engine, execution.taskInstanceId);
    throw callerGone(request.taskId);
  }
  return execution;
}

function answerBytes(execution: ExecutionContext): number {
  return (
    execution.serializedTaskIo.length +
    Buffer.byteLength(execution.tdlContext.package) +
    Buffer.byteLength(execution.tdlContext.taskFunc) +
    ANSWER_FRAMING_BYTES
  );
}

/** The attempt fails for good: its inputs never change, so the job fails with `reason`, retries or not. */
async function failAttempt(
  engine: Engine,
  jcb: ReturnType<typeof findCachedJob>,
  key: number,
  instanceId: bigint,
  reason: string,
): Promise<void> {
  try {
    await jcb.failInstance(key, instanceId, reason, { final: true });
  } catch (error) {
    // The instance went meanwhile (its job was cancelled, say), or the failure
    // could not be written (D6: the task was queued again). Either way the
    // refusal stands, and nothing is left Running.
    if (!isStorageError(error)) throw error;
    engine.logger.warn({ err: error as StorageError, jobId: jcb.jobId, instanceId }, "oversized task answer: the attempt could not be failed");
  }
}

/** Removes a live instance whose registration never reached its caller; its task goes back to the queue. */
function withdraw(engine: Engine, instanceId: bigint): void {
  const record = engine.pool.get(instanceId);
  if (record === undefined) return; // already gone (its job ended meanwhile)
  engine.pool.remove(record);
  record.host.evictInstance(record, "undelivered_instance");
}

function callerGone(taskId: TaskId): StorageError {
  return failedPrecondition(`the caller went away before the answer was sent: task ${formatTaskId(taskId)} was not assigned`);
}
