/**
 * `jobs show ID`: a job's row (state, timestamps, error), a summary of its
 * graph, every task's state with its live instances and retries left, and its
 * checkpoints. Task states come from the cache when the job is cached (every
 * job the server drives is); for a job that is not cached (terminal and
 * past the cache's retention, or never started) they are derived: all
 * Succeeded for a Succeeded job, otherwise Succeeded where a checkpoint
 * exists, and "not started" (Ready job) or "unknown" elsewhere.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CLEANUP_KEY, COMMIT_KEY, taskIdOfKey } from "../core/task-key.ts";
import { formatTaskId } from "../core/ids.ts";
import type { TaskGraph } from "../core/task-graph.ts";
import type { GetJobRequest, GetJobResponseSchema, InstanceInfoSchema, TaskInfoSchema } from "../gen/admin/admin_pb.ts";
import type { AdminHost } from "./admin-host.ts";
import { decodeStoredGraph, graphDepth } from "./decode-stored-job.ts";
import { findJob } from "./find-job.ts";
import { jobSummary } from "./job-summary.ts";
import { requireDb } from "./require-ready.ts";
import { checkpointSizes } from "../db/checkpoints/checkpointSizes.ts";

export const DEFAULT_MAX_TASKS = 200;

type TaskInfo = MessageInitShape<typeof TaskInfoSchema>;

export async function showJob(
  host: AdminHost,
  request: GetJobRequest,
): Promise<MessageInitShape<typeof GetJobResponseSchema>> {
  const db = requireDb(host);
  const service = host.service;
  const limits = host.settings.limits;
  const row = await findJob(db, request.jobId, { withBlobs: true });
  const jcb = service?.cache.get(row.id);
  const response: MessageInitShape<typeof GetJobResponseSchema> = { job: jobSummary(row, jcb !== undefined) };

  let graph: TaskGraph | undefined;
  try {
    graph = decodeStoredGraph(row.compressedTaskGraph, limits, service?.engine.graphCache);
  } catch (error) {
    response.graphError = error instanceof Error ? error.message : String(error);
  }
  response.graph = {
    compressedGraphBytes: BigInt(row.compressedTaskGraph.length),
    compressedInputsBytes: BigInt(row.compressedInputs.length),
    outputsBytes: BigInt(row.outputs?.length ?? 0),
    ...(graph === undefined
      ? {}
      : {
          tasks: graph.tasks.length,
          graphInputs: graph.graphInputCount,
          graphOutputs: graph.graphOutputCount,
          dependencies: BigInt(graph.dependencyCount),
          inputTasks: graph.tasks.filter((t) => t.inputSources === null).length,
          outputTasks: graph.tasks.filter((t) => t.children.length === 0).length,
          depth: graphDepth(graph),
          hasCommitTask: graph.commitTask !== null,
          hasCleanupTask: graph.cleanupTask !== null,
        }),
  };

  const checkpoints = await checkpointSizes(db, row.id);
  const checkpointed = new Set(checkpoints.map((c) => c.taskIndex));
  response.checkpoints = BigInt(checkpoints.length);
  response.checkpointBytes = BigInt(checkpoints.reduce((sum, c) => sum + c.bytes, 0));

  const describe = (key: number): Pick<TaskInfo, "function" | "maxRetries" | "parents" | "children"> => {
    if (graph === undefined) return {};
    if (key >= 0) {
      const task = graph.tasks[key];
      if (task === undefined) return {};
      return {
        function: task.tdlContext.taskFunc,
        maxRetries: task.executionPolicy.maxNumRetry,
        parents: task.parents.length,
        children: task.children.length,
      };
    }
    const termination = key === COMMIT_KEY ? graph.commitTask : graph.cleanupTask;
    if (termination === null) return {};
    return { function: termination.tdlContext.taskFunc, maxRetries: termination.executionPolicy.maxNumRetry };
  };

  const all: TaskInfo[] = [];
  if (jcb !== undefined) {
    response.tasksSource = "cache";
    for (const task of jcb.taskSnapshots()) {
      all.push({
        task: formatTaskId(taskIdOfKey(task.key)),
        state: task.state,
        liveInstances: task.liveInstances,
        retriesLeft: task.retriesLeft,
        queued: task.queued,
        checkpointed: task.key >= 0 && checkpointed.has(task.key),
        ...describe(task.key),
      });
    }
    response.heldPayloadBytes = BigInt(jcb.heldPayloadBytes);
    const now = service!.pool.now();
    response.instances = jcb.liveInstances().map(
      (record): MessageInitShape<typeof InstanceInfoSchema> => ({
        taskInstanceId: record.id,
        jobId: row.id,
        task: formatTaskId(taskIdOfKey(record.key)),
        executionManagerId: record.executionManagerId,
        ageMs: BigInt(Math.max(0, Math.round(now - record.registeredAt))),
        softTimeoutPassed: record.softTimeoutHandled,
      }),
    );
  } else if (graph !== undefined) {
    response.tasksSource = "database (not cached: states derived from the job's state and its checkpoints)";
    const succeeded = row.state === "Succeeded";
    const unknown = row.state === "Ready" ? "not started" : "unknown";
    for (let i = 0; i < graph.tasks.length; i++) {
      all.push({
        task: String(i),
        state: succeeded || checkpointed.has(i) ? "Succeeded" : unknown,
        checkpointed: checkpointed.has(i),
        ...describe(i),
      });
    }
    if (graph.commitTask) all.push({ task: "commit", state: succeeded ? "Succeeded" : unknown, ...describe(COMMIT_KEY) });
    if (graph.cleanupTask) {
      all.push({ task: "cleanup", state: row.state === "Cancelled" ? "Succeeded or not needed" : unknown, ...describe(CLEANUP_KEY) });
    }
  } else {
    response.tasksSource = "none (the graph does not decode)";
  }

  const counts = new Map<string, number>();
  for (const task of all) counts.set(task.state!, (counts.get(task.state!) ?? 0) + 1);
  response.tasksByState = [...counts].map(([state, count]) => ({ state, count: BigInt(count) }));
  const wanted = request.taskState.toLowerCase();
  const matching = wanted === "" ? all : all.filter((task) => task.state!.toLowerCase() === wanted);
  response.tasksMatching = matching.length;
  response.tasks = matching.slice(0, request.maxTasks === 0 ? DEFAULT_MAX_TASKS : request.maxTasks);
  return response;
}
