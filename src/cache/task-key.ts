/**
 * Task ids ({@link TaskId}) as the numeric keys the cache, queue and pool use:
 * the index of a regular task, or COMMIT_KEY / CLEANUP_KEY.
 */
import { CLEANUP_TASK, COMMIT_TASK, taskIndex, type TaskId } from "../core/ids.ts";
import { CLEANUP_KEY, COMMIT_KEY } from "../queue/queue-subject.ts";

export function keyOfTaskId(id: TaskId): number {
  return id.kind === "index" ? id.index : id.kind === "commit" ? COMMIT_KEY : CLEANUP_KEY;
}

export function taskIdOfKey(key: number): TaskId {
  return key >= 0 ? taskIndex(key) : key === COMMIT_KEY ? COMMIT_TASK : CLEANUP_TASK;
}
