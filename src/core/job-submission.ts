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
import { compressZstd, decompressZstd, DEFAULT_MAX_DECOMPRESSED_BYTES } from "./zstd.ts";

export interface SubmissionLimits {
  /** Budget for each of the decompressed graph JSON and the decompressed inputs. */
  readonly maxDecompressedBytes: number;
  readonly maxTasks: number;
  /** Most dependency edges (input sources) in one graph. */
  readonly maxDependencies: number;
}

export const DEFAULT_SUBMISSION_LIMITS: SubmissionLimits = Object.freeze({
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  maxTasks: 1_000_000,
  maxDependencies: 50_000_000,
});

/** Configuration keys of the limits, named in errors so an operator knows what to raise. */
export const SUBMISSION_LIMIT_NAMES = Object.freeze({
  maxDecompressedBytes: "runtime.limits.max_decompressed_bytes",
  maxTasks: "runtime.limits.max_tasks_per_job",
  maxDependencies: "runtime.limits.max_dependencies_per_job",
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

  const inputs = decodeWireFrame(
    decompressZstd(compressedInputs, {
      maxOutputBytes: limits.maxDecompressedBytes,
      what: "job inputs",
      limitName: SUBMISSION_LIMIT_NAMES.maxDecompressedBytes,
    }),
    "job inputs",
  );

  checkNotEmpty(graph);
  if (inputs.length !== graph.graphInputCount) {
    throw invalidArgument(
      `task graph input size mismatch: expected ${graph.graphInputCount}, got ${inputs.length}`,
    );
  }
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
