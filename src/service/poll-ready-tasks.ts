/**
 * PollReadyTasks / PollReadyCommitTasks / PollReadyCleanupTasks: a long-poll
 * of one lane of the inbound queue (DECISIONS D7). Answered only once the
 * queue has been refilled after start-up (before that: "unavailable", which
 * schedulers retry). If the caller went away (its signal aborted) before the
 * answer left, the entries go back to the front of the lane. Entries that did
 * leave are watched until RegisterTaskInstance claims their task, and offered
 * again if nobody does within runtime.queue.reoffer_unclaimed_after_ms (the
 * protocol has no owner for a poll).
 */
import { keyOfTaskId, taskIdOfKey } from "../core/task-key.ts";
import { unavailable } from "../core/errors.ts";
import type { TaskId } from "../core/ids.ts";
import type { Lane, QueueEntry } from "../queue/queue-subject.ts";
import type { Engine } from "../cache/engine.ts";

/** The lane a poll reads (its RPC names it): part of this use case's signature. */
export type { Lane };

export interface PollReadyTasksRequest {
  readonly maxItems: number | bigint;
  readonly waitMs: number | bigint;
  readonly signal?: AbortSignal;
}

export interface ReadyTask {
  readonly resourceGroupId: bigint;
  readonly jobId: bigint;
  readonly taskId: TaskId;
}

export interface PollReadyTasksResult {
  readonly sessionId: bigint;
  readonly tasks: ReadyTask[];
}

export async function pollReadyTasks(
  engine: Engine,
  lane: Lane,
  request: PollReadyTasksRequest,
): Promise<PollReadyTasksResult> {
  if (!engine.flags.refilled) throw unavailable("not ready: the inbound queue has not been refilled yet");
  const entries = await engine.queue.poll(lane, request);
  if (request.signal?.aborted && entries.length > 0) {
    engine.queue.putBack(entries);
    return { sessionId: engine.sessionId, tasks: [] };
  }
  return { sessionId: engine.sessionId, tasks: entries.map(toReadyTask) };
}

function toReadyTask(entry: QueueEntry): ReadyTask {
  return { resourceGroupId: entry.subject.resourceGroupId, jobId: entry.subject.jobId, taskId: taskIdOfKey(entry.key) };
}

/**
 * Gives tasks from a poll answer that could not be delivered back to the front
 * of their lanes (for a transport that learns only after answering that the
 * caller went away). Tasks of jobs no longer cached are dropped.
 */
export function returnUndeliveredTasks(engine: Engine, tasks: readonly ReadyTask[]): void {
  const entries: QueueEntry[] = [];
  for (const task of tasks) {
    const jcb = engine.cache.get(task.jobId);
    if (jcb === undefined) continue;
    entries.push({ subject: jcb, key: keyOfTaskId(task.taskId) });
  }
  engine.queue.putBack(entries);
}
