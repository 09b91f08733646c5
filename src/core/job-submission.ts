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
import { decodeTaskGraph, decodeTaskGraphAsync, type DecodeTaskGraphOptions, type TaskGraph } from "./task-graph.ts";
import { decodeWireFrame } from "./wire-frame.ts";
import {
  decompressZstd,
  decompressZstdAsync,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DEFAULT_MAX_ZSTD_FRAMES,
  type DecompressOptions,
} from "./zstd.ts";

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
  /** Most bytes the graph's JSON may decompress to (the graph's budget is the smaller of this and maxDecompressedBytes). */
  readonly maxTaskGraphBytes: number;
}

/**
 * Sized so the worst graph accepted costs well under 50 ms of event loop on a
 * small machine: parsing and validating costs about 0.3–0.4 µs per JSON value
 * (objects, arrays, strings, numbers) whatever the graph's shape, so 64 000
 * values cost about 25 ms (measured on 2 loaded cores; the README's Limits
 * section has the numbers). A 3 000-task chain is 48 000 values; every
 * dependency edge takes at least 3.
 */
export const DEFAULT_SUBMISSION_LIMITS: SubmissionLimits = Object.freeze({
  maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  maxTasks: 3_000,
  maxDependencies: 20_000,
  maxZstdFrames: DEFAULT_MAX_ZSTD_FRAMES,
  maxTaskGraphValues: 64_000,
  maxTaskGraphBytes: 8 * 1024 * 1024,
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
  maxTaskGraphBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
});

/** Configuration keys of the limits, named in errors so an operator knows what to raise. */
export const SUBMISSION_LIMIT_NAMES = Object.freeze({
  maxDecompressedBytes: "runtime.limits.max_decompressed_bytes",
  maxTasks: "runtime.limits.max_tasks_per_job",
  maxDependencies: "runtime.limits.max_dependencies_per_job",
  maxZstdFrames: "runtime.limits.max_zstd_frames",
  maxTaskGraphValues: "runtime.limits.max_task_graph_values",
  maxTaskGraphBytes: "runtime.limits.max_task_graph_bytes",
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
  const options = graphDecodeOptions(limits);
  const graph = cache === undefined ? decodeTaskGraph(compressedGraph, options) : cache.decode(compressedGraph, options);
  checkGraphLimits(graph, limits);
  return withInputs(graph, decompressZstd(compressedInputs, inputsDecompressOptions(limits)));
}

/**
 * {@link validateJobSubmission} for the request path: the same checks in the
 * same order, with hashing and decompression (up to the budget, 64 MiB by
 * default) off the event loop. What stays on it is bounded by the graph
 * limits: the graph's text (max_task_graph_bytes), its values
 * (max_task_graph_values), and the payload count, checked against the graph
 * before any view is built.
 */
export async function validateJobSubmissionAsync(
  compressedGraph: Uint8Array,
  compressedInputs: Uint8Array,
  limits: SubmissionLimits = DEFAULT_SUBMISSION_LIMITS,
  cache?: TaskGraphCache,
): Promise<ValidatedJobSubmission> {
  const options = graphDecodeOptions(limits);
  const graph = cache === undefined ? await decodeTaskGraphAsync(compressedGraph, options) : await cache.decodeAsync(compressedGraph, options);
  checkGraphLimits(graph, limits);
  // The payload count is the first 4 bytes: a wrong one stops the decompression there.
  const inputsOptions: DecompressOptions = {
    ...inputsDecompressOptions(limits),
    checkPrefix: {
      bytes: 4,
      check: (prefix) => {
        const count = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, true);
        if (count !== graph.graphInputCount) throw inputCountMismatch(graph, count);
      },
    },
  };
  return withInputs(graph, await decompressZstdAsync(compressedInputs, inputsOptions));
}

function inputsDecompressOptions(limits: SubmissionLimits): DecompressOptions {
  return {
    maxOutputBytes: limits.maxDecompressedBytes,
    what: "job inputs",
    limitName: SUBMISSION_LIMIT_NAMES.maxDecompressedBytes,
    maxFrames: limits.maxZstdFrames,
    framesLimitName: SUBMISSION_LIMIT_NAMES.maxZstdFrames,
  };
}

function inputCountMismatch(graph: TaskGraph, count: number): Error {
  return invalidArgument(`task graph input size mismatch: expected ${graph.graphInputCount}, got ${count}`);
}

/** Splits the decompressed inputs, their count checked from the header before any view is built. */
function withInputs(graph: TaskGraph, frame: Uint8Array<ArrayBuffer>): ValidatedJobSubmission {
  const inputs = decodeWireFrame(frame, "job inputs", {
    count: graph.graphInputCount,
    mismatch: (count) => inputCountMismatch(graph, count),
  });
  checkNotEmpty(graph);
  return Object.freeze({ graph, inputs });
}

/**
 * The graph half of {@link validateJobSubmission}, for callers that need no
 * inputs (recovery of CommitReady and CleanupReady jobs, whose inputs are
 * never read again): decode, size limits, not empty.
 */
export function validateTaskGraph(compressedGraph: Uint8Array, limits: SubmissionLimits = DEFAULT_SUBMISSION_LIMITS, cache?: TaskGraphCache): TaskGraph {
  const options = graphDecodeOptions(limits);
  const graph = cache === undefined ? decodeTaskGraph(compressedGraph, options) : cache.decode(compressedGraph, options);
  checkGraphLimits(graph, limits);
  checkNotEmpty(graph);
  return graph;
}

/** The graph's budget is the smaller of the two byte limits, and names the one that binds. */
function graphDecodeOptions(limits: SubmissionLimits): DecodeTaskGraphOptions {
  const graphBytesBind = limits.maxTaskGraphBytes < limits.maxDecompressedBytes;
  return {
    maxDecompressedBytes: graphBytesBind ? limits.maxTaskGraphBytes : limits.maxDecompressedBytes,
    limitName: graphBytesBind ? SUBMISSION_LIMIT_NAMES.maxTaskGraphBytes : SUBMISSION_LIMIT_NAMES.maxDecompressedBytes,
    maxZstdFrames: limits.maxZstdFrames,
    zstdFramesLimitName: SUBMISSION_LIMIT_NAMES.maxZstdFrames,
    maxJsonValues: limits.maxTaskGraphValues,
    jsonValuesLimitName: SUBMISSION_LIMIT_NAMES.maxTaskGraphValues,
  };
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
