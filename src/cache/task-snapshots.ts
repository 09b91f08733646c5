/**
 * Read-only views of a job's task table for inspection (admin API, metrics):
 * built on demand, so a cached task costs nothing until someone looks.
 */
import { CLEANUP_KEY, COMMIT_KEY } from "../core/task-key.ts";
import { taskStateName, type TaskStateName } from "./task-state.ts";
import type { TaskTable } from "./task-table.ts";

export interface TaskSnapshot {
  /** The task key: a regular task's index, or COMMIT_KEY / CLEANUP_KEY (the admin API shows these values). */
  readonly key: number;
  readonly state: TaskStateName;
  readonly liveInstances: number;
  readonly retriesLeft: number;
  readonly queued: boolean;
}

/** Every task (regular, then commit, then cleanup) with its state. */
export function taskSnapshots(tasks: TaskTable): TaskSnapshot[] {
  const out: TaskSnapshot[] = [];
  for (let i = 0; i < tasks.count; i++) out.push(snapshot(tasks, i));
  if (tasks.hasCommit) out.push(snapshot(tasks, COMMIT_KEY));
  if (tasks.hasCleanup) out.push(snapshot(tasks, CLEANUP_KEY));
  return out;
}

/** Counts of regular tasks per state. */
export function taskStateCounts(tasks: TaskTable): Record<TaskStateName, number> {
  const counts: Record<TaskStateName, number> = {
    Pending: 0,
    Ready: 0,
    Running: 0,
    Succeeded: 0,
    Failed: 0,
    Cancelled: 0,
  };
  for (let i = 0; i < tasks.count; i++) counts[taskStateName(tasks.states[i]!)]++;
  return counts;
}

function snapshot(tasks: TaskTable, key: number): TaskSnapshot {
  const slot = tasks.slotOf(key);
  return {
    key,
    state: taskStateName(tasks.states[slot]!),
    liveInstances: tasks.live[slot]!,
    retriesLeft: tasks.retriesLeft[slot]!,
    queued: tasks.queued[slot] === 1,
  };
}
