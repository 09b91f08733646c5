/**
 * Task states (spec §3.2) as small integers, so a job's task states fit in
 * one Uint8Array instead of an object per task.
 *
 *   Pending ──last parent succeeded──▶ Ready ──instance registered──▶ Running
 *   Running ──instance succeeded──▶ Succeeded
 *   Running ──instance failed, retries left──▶ Ready (no live instance) / Running
 *   Running ──instance failed, no retries left──▶ Failed (and the job fails)
 *   Running ──last live instance evicted (dead execution manager)──▶ Ready
 *   any non-terminal ──job cancelled or failed──▶ Cancelled
 */

export const TASK_PENDING = 0;
export const TASK_READY = 1;
export const TASK_RUNNING = 2;
export const TASK_SUCCEEDED = 3;
export const TASK_FAILED = 4;
export const TASK_CANCELLED = 5;

export type TaskStateCode = 0 | 1 | 2 | 3 | 4 | 5;

export const TASK_STATE_NAMES = ["Pending", "Ready", "Running", "Succeeded", "Failed", "Cancelled"] as const;

export type TaskStateName = (typeof TASK_STATE_NAMES)[number];

export function taskStateName(code: number): TaskStateName {
  return TASK_STATE_NAMES[code] ?? "Pending";
}

export function isTaskTerminal(code: number): boolean {
  return code >= TASK_SUCCEEDED;
}
