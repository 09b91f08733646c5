/**
 * Validation of a job submission (spec §1.5, §7.2; Spider's
 * `ValidatedJobSubmission::create`): the compressed task graph and the
 * compressed job inputs (zstd of a wire frame) are decoded under the
 * decompression budget, the graph is checked against this service's size
 * limits, and the inputs must match the graph's inputs one for one. The
 * compressed bytes themselves are what the database stores; this returns the
 * decoded forms. All failures are StorageError("invalid_argument").
 */
import { invalidArgument } from "./errors.ts";
import type { TaskGraphCache } from "./task-graph-cache.ts";
import { decodeTaskGraph, type TaskGraph } from "./task-graph.ts";
import { decodeWireFrame, encodeWireFrame } from "./wire-frame.ts";
import { compressZstd, decompressZstd, DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_ZSTD_FRAMES } from "./zstd.ts";

export interface SubmissionLimits {
  /** Budget for each of the decompressed graph JSON and the decompressed inputs. */
  readonly maxDecompressedBytes: number;
  readonly maxTasks: number;
  /** Most dependency edges (input sources) in one graph. */
  readonly maxDependencies: number;
  /** Most zstd frames in each of the compressed graph and the compressed inputs. */
  readonly maxZstdFrames: number;
  /** Most JSON values in the graph's text, counted by a scan before anything is built. */
  readonly maxTaskGraphValues: number;
}

/**
 * Sized so the worst graph accepted costs well under 50 ms of event loop on a
 * small machine (measured in the README's Limits section): what a graph costs
 * is its number of JSON values (objects, arrays, strings, numbers), and the
 * tasks, edges and inputs they describe.
 */
export const DEFAULT_SUBMISSION_LIMITS: SubmissionLimits = Object.freeze({
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  maxTasks: 10_000,
  maxDependencies: 100_000,
  maxZstdFrames: DEFAULT_MAX_ZSTD_FRAMES,
  maxTaskGraphValues: 300_000,
});

/**
 * Floors for decoding jobs already stored: each limit as it was before the
 * defaults were lowered (issue 17), and no cap on frames or JSON values, so a
 * job accepted then is never quarantined by recovery now. Recovery runs before
 * the server serves, so its cost blocks no request.
 */
export const STORED_JOB_LIMITS: SubmissionLimits = Object.freeze({
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  maxTasks: 1_000_000,
  maxDependencies: 50_000_000,
  maxZstdFrames: Number.MAX_SAFE_INTEGER,
  maxTaskGraphValues: Number.MAX_SAFE_INTEGER,
});

/** Configuration keys of the limits, named in errors so an operator knows what to raise. */
export const SUBMISSION_LIMIT_NAMES = Object.freeze({
  maxDecompressedBytes: "runtime.limits.max_decompressed_bytes",
  maxTasks: "runtime.limits.max_tasks_per_job",
  maxDependencies: "runtime.limits.max_dependencies_per_job",
  maxZstdFrames: "runtime.limits.max_zstd_frames",
  maxTaskGraphValues: "runtime.limits.max_task_graph_values",
});

export interface ValidatedJobSubmission {
  readonly graph: TaskGraph;
  /** One payload per graph input, in graph-input order (views into the decompressed buffer). */
  readonly inputs: Uint8Array<ArrayBuffer>[];
}

/**
 * Decodes and validates a submission. With a cache, a graph seen before is
 * not parsed again (the parsed graph is shared).
 */
export function validateJobSubmission(
  compressedGraph: Uint8Array,
  compressedInputs: Uint8Array,
  limits: SubmissionLimits = DEFAULT_SUBMISSION_LIMITS,
  cache?: TaskGraphCache,
): ValidatedJobSubmission {
  const graph = decodeGraphWithinLimits(compressedGraph, limits, cache);

  // The count is checked from the frame's header before a view is built for any payload.
  const inputs = decodeWireFrame(
    decompressZstd(compressedInputs, {
      maxOutputBytes: limits.maxDecompressedBytes,
      what: "job inputs",
      limitName: SUBMISSION_LIMIT_NAMES.maxDecompressedBytes,
      maxFrames: limits.maxZstdFrames,
      framesLimitName: SUBMISSION_LIMIT_NAMES.maxZstdFrames,
    }),
    "job inputs",
    {
      count: graph.graphInputCount,
      mismatch: (count) =>
        invalidArgument(`task graph input size mismatch: expected ${graph.graphInputCount}, got ${count}`),
    },
  );

  checkNotEmpty(graph);
  return Object.freeze({ graph, inputs });
}

/**
 * The graph half of {@link validateJobSubmission}, for callers that need no
 * inputs (recovery of CommitReady and CleanupReady jobs, whose inputs are
 * never read again): decode, size limits, not empty.
 */
export function validateTaskGraph(compressedGraph: Uint8Array, limits: SubmissionLimits = DEFAULT_SUBMISSION_LIMITS, cache?: TaskGraphCache): TaskGraph {
  const graph = decodeGraphWithinLimits(compressedGraph, limits, cache);
  checkNotEmpty(graph);
  return graph;
}

function decodeGraphWithinLimits(compressedGraph: Uint8Array, limits: SubmissionLimits, cache: TaskGraphCache | undefined): TaskGraph {
  const decodeOptions = {
    maxDecompressedBytes: limits.maxDecompressedBytes,
    limitName: SUBMISSION_LIMIT_NAMES.maxDecompressedBytes,
    maxZstdFrames: limits.maxZstdFrames,
    zstdFramesLimitName: SUBMISSION_LIMIT_NAMES.maxZstdFrames,
    maxJsonValues: limits.maxTaskGraphValues,
    jsonValuesLimitName: SUBMISSION_LIMIT_NAMES.maxTaskGraphValues,
  };
  const graph = cache === undefined ? decodeTaskGraph(compressedGraph, decodeOptions) : cache.decode(compressedGraph, decodeOptions);
  checkGraphLimits(graph, limits);
  return graph;
}

function checkNotEmpty(graph: TaskGraph): void {
  if (graph.tasks.length === 0) {
    throw invalidArgument("task graph must contain at least one task");
  }
}

/** Throws when the graph is larger than this service accepts. */
export function checkGraphLimits(graph: TaskGraph, limits: SubmissionLimits): void {
  if (graph.tasks.length > limits.maxTasks) {
    throw invalidArgument(
      `task graph has ${graph.tasks.length} tasks, above the limit of ${limits.maxTasks} (${SUBMISSION_LIMIT_NAMES.maxTasks})`,
    );
  }
  if (graph.dependencyCount > limits.maxDependencies) {
    throw invalidArgument(
      `task graph has ${graph.dependencyCount} dependencies, above the limit of ${limits.maxDependencies} (${SUBMISSION_LIMIT_NAMES.maxDependencies})`,
    );
  }
}

/** `compressed_serialized_inputs` for these payloads: zstd of their wire frame (what Spider's client sends). */
export function compressJobInputs(payloads: readonly Uint8Array[], level?: number): Uint8Array<ArrayBuffer> {
  return compressZstd(encodeWireFrame(payloads), level);
}
