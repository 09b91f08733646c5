/**
 * Read-only views of the engine for the admin API and tests: cached jobs, a
 * job's tasks, queue depth and age per lane, live task instances.
 */
import { taskIdOfKey } from "../core/task-key.ts";
import type { TaskStateName } from "../cache/task-state.ts";
import { notFound } from "../core/errors.ts";
import type { TaskId } from "../core/ids.ts";
import type { LaneStats } from "../queue/inbound-queue.ts";
import type { Lane } from "../queue/queue-subject.ts";
import type { Engine } from "../cache/engine.ts";

export interface TaskView {
  readonly taskId: TaskId;
  readonly state: TaskStateName;
  readonly liveInstances: number;
  readonly retriesLeft: number;
  readonly queued: boolean;
}

export interface LiveInstanceView {
  readonly taskInstanceId: bigint;
  readonly jobId: bigint;
  readonly taskId: TaskId;
  readonly executionManagerId: bigint;
  readonly ageMs: number;
  readonly softTimeoutHandled: boolean;
}

/** The tasks of a cached job ("not_found" when it is not cached). */
export function jobTasks(engine: Engine, jobId: bigint): TaskView[] {
  const jcb = engine.cache.get(jobId);
  if (jcb === undefined) throw notFound(`job ${jobId} is not cached`);
  return jcb.taskSnapshots().map((t) => ({
    taskId: taskIdOfKey(t.key),
    state: t.state,
    liveInstances: t.liveInstances,
    retriesLeft: t.retriesLeft,
    queued: t.queued,
  }));
}

export function queueStats(engine: Engine): Record<Lane, LaneStats> {
  return engine.queue.stats();
}

export function liveInstances(engine: Engine): LiveInstanceView[] {
  const now = engine.pool.now();
  const out: LiveInstanceView[] = [];
  for (const record of engine.pool.liveInstances()) {
    out.push({
      taskInstanceId: record.id,
      jobId: record.host.jobId,
      taskId: taskIdOfKey(record.key),
      executionManagerId: record.executionManagerId,
      ageMs: Math.max(0, now - record.registeredAt),
      softTimeoutHandled: record.softTimeoutHandled,
    });
  }
  return out;
}
