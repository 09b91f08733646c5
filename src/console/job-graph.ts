/**
 * The shape of a job's task graph for the console to draw: every task with
 * its parents (the data-flow edges, one per parent however many outputs
 * flow), its function and execution policy (retries, instances, timeouts),
 * and the commit and cleanup tasks apart. A graph never changes once
 * registered, so the page reads it once and then polls only the task states
 * (`jobs show`, src/admin/show-job.ts). Decoded under the submission limits,
 * sharing the engine's parsed-graph cache.
 */
import type { AdminHost } from "../admin/admin-host.ts";
import { decodeStoredGraph } from "../admin/decode-stored-job.ts";
import { findJob } from "../admin/find-job.ts";
import { requireDb } from "../admin/require-ready.ts";
import type { ExecutionPolicy, TdlContext } from "../core/task-graph.ts";
import { HttpError } from "./http-error.ts";

export interface PolicyView {
  readonly function: string;
  readonly package: string;
  readonly maxRetries: number;
  readonly maxInstances: number;
  readonly softTimeoutMs: number;
  readonly hardTimeoutMs: number;
}

export interface TaskNodeView extends PolicyView {
  readonly index: number;
  readonly parents: readonly number[];
  readonly inputs: number;
  readonly outputs: number;
}

export interface JobGraphView {
  readonly jobId: bigint;
  readonly tasks: readonly TaskNodeView[];
  readonly commit: PolicyView | null;
  readonly cleanup: PolicyView | null;
  readonly edges: number;
}

function policyView(tdl: TdlContext, policy: ExecutionPolicy): PolicyView {
  return {
    function: tdl.taskFunc,
    package: tdl.package,
    maxRetries: policy.maxNumRetry,
    maxInstances: policy.maxNumInstances,
    softTimeoutMs: policy.timeoutPolicy.softTimeoutMs,
    hardTimeoutMs: policy.timeoutPolicy.hardTimeoutMs,
  };
}

export async function jobGraph(host: AdminHost, jobId: bigint): Promise<JobGraphView> {
  const row = await findJob(requireDb(host), jobId, { withBlobs: true });
  let graph;
  try {
    graph = decodeStoredGraph(row.compressedTaskGraph, host.settings.limits, host.service?.engine.graphCache);
  } catch (error) {
    throw new HttpError(409, `job ${jobId}: its stored graph does not decode: ${error instanceof Error ? error.message : String(error)}`);
  }
  let edges = 0;
  const tasks = graph.tasks.map((task): TaskNodeView => {
    edges += task.parents.length;
    return {
      index: task.index,
      parents: task.parents,
      inputs: task.inputCount,
      outputs: task.outputCount,
      ...policyView(task.tdlContext, task.executionPolicy),
    };
  });
  return {
    jobId,
    tasks,
    commit: graph.commitTask === null ? null : policyView(graph.commitTask.tdlContext, graph.commitTask.executionPolicy),
    cleanup: graph.cleanupTask === null ? null : policyView(graph.cleanupTask.tdlContext, graph.cleanupTask.executionPolicy),
    edges,
  };
}
