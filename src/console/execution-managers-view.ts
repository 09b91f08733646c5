/**
 * The console's execution managers page: `em list` (alive or dead, last
 * heartbeat, live instance count) with, for each, the task instances it
 * runs on this server — at most MAX_INSTANCES_PER_MANAGER of them, so one
 * busy manager cannot make the answer unbounded.
 */
import type { AdminHost } from "../admin/admin-host.ts";
import { listExecutionManagerInfos } from "../admin/list-execution-managers.ts";
import { formatTaskId } from "../core/ids.ts";
import { liveInstances } from "../service/inspect-engine.ts";

export const MAX_INSTANCES_PER_MANAGER = 100;

export interface RunningInstanceView {
  readonly taskInstanceId: bigint;
  readonly jobId: bigint;
  readonly task: string;
  readonly ageMs: number;
}

export async function executionManagersView(host: AdminHost, state: string) {
  const listing = await listExecutionManagerInfos(host, state);
  const running = new Map<bigint, RunningInstanceView[]>();
  if (host.service !== undefined) {
    for (const instance of liveInstances(host.service.engine)) {
      const list = running.get(instance.executionManagerId) ?? [];
      if (list.length < MAX_INSTANCES_PER_MANAGER) {
        list.push({ taskInstanceId: instance.taskInstanceId, jobId: instance.jobId, task: formatTaskId(instance.taskId), ageMs: Math.round(instance.ageMs) });
      }
      running.set(instance.executionManagerId, list);
    }
  }
  return {
    executionManagers: (listing.executionManagers ?? []).map((manager) => ({
      ...manager,
      runningInstances: running.get(manager.executionManagerId ?? 0n) ?? [],
    })),
  };
}
