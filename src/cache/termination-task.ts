/**
 * The control block of a commit or cleanup task (spec §3.4): its own state,
 * retry budget and live-instance count; the descriptor is shared with the
 * immutable task graph.
 */
import type { TerminationTaskDescriptor } from "../core/task-graph.ts";
import { TASK_READY, type TaskStateCode } from "./task-state.ts";

export class TerminationTask {
  readonly descriptor: TerminationTaskDescriptor;
  state: TaskStateCode = TASK_READY;
  retriesLeft: number;
  live = 0;
  queued = false;

  constructor(descriptor: TerminationTaskDescriptor) {
    this.descriptor = descriptor;
    this.retriesLeft = descriptor.executionPolicy.maxNumRetry;
  }

  get maxInstances(): number {
    return Math.max(1, this.descriptor.executionPolicy.maxNumInstances);
  }
}
