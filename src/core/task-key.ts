/**
 * Task ids ({@link TaskId}) as the numeric keys the cache, queue and pool use:
 * the index of a regular task, or {@link COMMIT_KEY} / {@link CLEANUP_KEY}.
 * The negative keys are also what the admin API shows for the termination
 * tasks, so their values are fixed.
 */
import { CLEANUP_TASK, COMMIT_TASK, taskIndex, type TaskId } from "./ids.ts";

/** Key of a job's commit task. */
export const COMMIT_KEY = -1;
/** Key of a job's cleanup task. */
export const CLEANUP_KEY = -2;

export function keyOfTaskId(id: TaskId): number {
  return id.kind === "index" ? id.index : id.kind === "commit" ? COMMIT_KEY : CLEANUP_KEY;
}

export function taskIdOfKey(key: number): TaskId {
  return key >= 0 ? taskIndex(key) : key === COMMIT_KEY ? COMMIT_TASK : CLEANUP_TASK;
}
