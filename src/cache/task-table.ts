/**
 * The mutable half of a job's tasks (spec §3.2–§3.4): state, queued flag,
 * retries left and live-instance count, in typed arrays indexed by slot — no
 * object or closure per task (bench W5 measures what a cached task costs).
 * The immutable half is the shared {@link TaskGraph}.
 *
 * Slots: regular task i is slot i; the commit task is slot `count` and the
 * cleanup task slot `count + 1`, whether or not the graph has them — two
 * spare entries per job, so that {@link TaskTable.slotOf} is one mapping and
 * no accessor asks which kind of task it holds. Loops over the regular tasks
 * stop at {@link TaskTable.count}, never at an array's length.
 */
import { CLEANUP_KEY, COMMIT_KEY } from "../core/task-key.ts";
import type { TaskGraph, TerminationTaskDescriptor } from "../core/task-graph.ts";
import { isTaskTerminal, TASK_CANCELLED, TASK_PENDING, TASK_READY, type TaskStateCode } from "./task-state.ts";

export class TaskTable {
  /** Regular tasks. */
  readonly count: number;
  readonly states: Uint8Array;
  /** 1 while the task has an entry in its queue lane (DECISIONS D7). */
  readonly queued: Uint8Array;
  readonly retriesLeft: Uint32Array;
  readonly live: Uint32Array;
  /** Per regular task (index, no termination slots): parents not yet Succeeded. */
  readonly unfinishedParents: Uint32Array;
  private readonly graph: TaskGraph;

  constructor(graph: TaskGraph) {
    const n = graph.tasks.length;
    this.graph = graph;
    this.count = n;
    this.states = new Uint8Array(n + 2);
    this.queued = new Uint8Array(n + 2);
    this.retriesLeft = new Uint32Array(n + 2);
    this.live = new Uint32Array(n + 2);
    this.unfinishedParents = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const task = graph.tasks[i]!;
      this.states[i] = task.parents.length === 0 ? TASK_READY : TASK_PENDING;
      this.unfinishedParents[i] = task.parents.length;
      this.retriesLeft[i] = task.executionPolicy.maxNumRetry;
    }
    this.states[n] = TASK_READY;
    this.states[n + 1] = TASK_READY;
    this.retriesLeft[n] = graph.commitTask?.executionPolicy.maxNumRetry ?? 0;
    this.retriesLeft[n + 1] = graph.cleanupTask?.executionPolicy.maxNumRetry ?? 0;
  }

  get hasCommit(): boolean {
    return this.graph.commitTask !== null;
  }

  get hasCleanup(): boolean {
    return this.graph.cleanupTask !== null;
  }

  /** Whether `key` names a task of this job's shape (an index in range, or a termination key). */
  isKey(key: number): boolean {
    return key < this.count && (key >= 0 || key === COMMIT_KEY || key === CLEANUP_KEY);
  }

  /** The slot of a valid key ({@link isKey}). */
  slotOf(key: number): number {
    return key >= 0 ? key : key === COMMIT_KEY ? this.count : this.count + 1;
  }

  /** The task's execution policy and TDL context; only for a task the graph has. */
  descriptorOf(key: number): TerminationTaskDescriptor {
    return (key >= 0 ? this.graph.tasks[key] : key === COMMIT_KEY ? this.graph.commitTask : this.graph.cleanupTask)!;
  }

  maxInstancesOf(key: number): number {
    return Math.max(1, this.descriptorOf(key).executionPolicy.maxNumInstances);
  }

  stateAt(slot: number): TaskStateCode {
    return this.states[slot] as TaskStateCode;
  }

  /** Every regular task takes `state` (the job committed, or was cancelled, before recovery or behind memory's back). */
  setAllRegular(state: TaskStateCode): void {
    this.states.fill(state, 0, this.count);
  }

  /** Non-terminal regular tasks and the commit task (and the cleanup task when `includeCleanup`) → Cancelled. */
  cancelUnfinished(includeCleanup: boolean): void {
    const states = this.states;
    const end = includeCleanup ? this.count + 2 : this.count + 1;
    for (let slot = 0; slot < end; slot++) if (!isTaskTerminal(states[slot]!)) states[slot] = TASK_CANCELLED;
  }
}
