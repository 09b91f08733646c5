/**
 * Decoding a stored job's graph and inputs for inspection, under the
 * configured submission limits (the same budgets a restart uses), sharing the
 * engine's parsed-graph cache when there is one.
 */
import { STORED_JOB_LIMITS, SUBMISSION_LIMIT_NAMES, type SubmissionLimits } from "../core/job-submission.ts";
import { decodeTaskGraph, type TaskGraph } from "../core/task-graph.ts";
import type { TaskGraphCache } from "../core/task-graph-cache.ts";
import { decodeWireFrame } from "../core/wire-frame.ts";
import { decompressZstd } from "../core/zstd.ts";

export function decodeStoredGraph(compressed: Uint8Array, limits: SubmissionLimits, cache?: TaskGraphCache): TaskGraph {
  // A stored job was accepted already: no frame cap (one accepted before there was one may have many).
  const options = {
    maxDecompressedBytes: limits.maxDecompressedBytes,
    limitName: SUBMISSION_LIMIT_NAMES.maxDecompressedBytes,
    maxZstdFrames: STORED_JOB_LIMITS.maxZstdFrames,
  };
  return cache === undefined ? decodeTaskGraph(compressed, options) : cache.decode(compressed, options);
}

export function decodeStoredInputs(compressed: Uint8Array, limits: SubmissionLimits): Uint8Array[] {
  const frame = decompressZstd(compressed, {
    maxOutputBytes: limits.maxDecompressedBytes,
    what: "job inputs",
    limitName: SUBMISSION_LIMIT_NAMES.maxDecompressedBytes,
    maxFrames: STORED_JOB_LIMITS.maxZstdFrames,
  });
  return decodeWireFrame(frame, "job inputs");
}

/** Longest path through the graph, in tasks (sources always name earlier tasks, so one pass in index order). */
export function graphDepth(graph: TaskGraph): number {
  const depth = new Uint32Array(graph.tasks.length);
  let longest = 0;
  for (const task of graph.tasks) {
    let d = 0;
    for (const parent of task.parents) d = Math.max(d, depth[parent]!);
    depth[task.index] = d + 1;
    longest = Math.max(longest, d + 1);
  }
  return longest;
}
