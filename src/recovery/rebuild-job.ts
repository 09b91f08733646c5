/**
 * Rebuilds one job control block from its database row (and, for a Running
 * job, its task checkpoints) — or says why the row cannot be used, so
 * recovery quarantines it instead of refusing to start (spec §5 aborts the
 * whole start-up on such a row; we do not). Pure: no database access, nothing
 * enqueued (the refill after recovery does that, DECISIONS D7).
 *
 * Per state:
 * - Ready: validated; cached only when asked (`cacheReady`), otherwise left in
 *   the database until StartJob loads it (ready-job-loader.ts).
 * - Running: the task graph afresh, then every task whose checkpoint and whose
 *   ancestors' checkpoints exist is restored Succeeded with its outputs
 *   (DECISIONS D9); the rest is Ready or Pending as the graph says. Since a
 *   task's parents have lower indices, restoring in index order restores a
 *   task exactly when its parents were restored. Checkpoints not used (an
 *   ancestor's missing, undecodable, or the last task of the job) are
 *   returned so recovery deletes them: the task runs again and its new
 *   checkpoint must not be shadowed by the stale one (INSERT IGNORE keeps the
 *   first), which, with a non-deterministic task, would pair a child's old
 *   outputs with its parent's new ones after a second restart.
 * - CommitReady: the stored job outputs and a fresh commit task.
 * - CleanupReady: a fresh cleanup task.
 */
import { JobControlBlock } from "../cache/job-control-block.ts";
import type { JobEngine } from "../cache/job-engine.ts";
import { STORED_JOB_LIMITS, validateJobSubmission, validateTaskGraph, type SubmissionLimits, type ValidatedJobSubmission } from "../core/job-submission.ts";
import type { TaskGraph } from "../core/task-graph.ts";
import type { TaskGraphCache } from "../core/task-graph-cache.ts";
import { decodeTaskOutputs } from "../core/task-outputs.ts";
import { decodeWireFrame } from "../core/wire-frame.ts";
import type { JobRowWithBlobs } from "../db/jobs/job-row.ts";

export interface RebuildDeps {
  readonly engine: JobEngine;
  /** The configured submission limits; recovery never applies tighter ones than the defaults (see {@link recoveryLimits}). */
  readonly limits: SubmissionLimits;
  readonly graphCache?: TaskGraphCache;
}

export type RebuildOutcome =
  | {
      readonly kind: "rebuilt";
      readonly jcb: JobControlBlock;
      /** Tasks restored Succeeded from checkpoints. */
      readonly restoredTasks: number;
      /** Checkpointed task indices that were not used (to delete). */
      readonly unusedCheckpoints: readonly number[];
      /** Of those, how many could not be decoded. */
      readonly corruptCheckpoints: number;
    }
  /** A valid Ready job left in the database until StartJob needs it. */
  | { readonly kind: "deferred" }
  | { readonly kind: "quarantine"; readonly reason: string };

/**
 * The limits recovery decodes under: each the larger of the configured one and
 * STORED_JOB_LIMITS, so lowering a limit (or its default) never quarantines a
 * job accepted before.
 */
export function recoveryLimits(configured: SubmissionLimits): SubmissionLimits {
  const floor = STORED_JOB_LIMITS;
  return {
    maxDecompressedBytes: Math.max(configured.maxDecompressedBytes, floor.maxDecompressedBytes),
    maxTasks: Math.max(configured.maxTasks, floor.maxTasks),
    maxDependencies: Math.max(configured.maxDependencies, floor.maxDependencies),
    maxZstdFrames: Math.max(configured.maxZstdFrames, floor.maxZstdFrames),
    maxTaskGraphValues: Math.max(configured.maxTaskGraphValues, floor.maxTaskGraphValues),
    maxTaskGraphBytes: Math.max(configured.maxTaskGraphBytes, floor.maxTaskGraphBytes),
  };
}

/** Stands in for the inputs of a job that will never read them. */
const NO_INPUT = new Uint8Array(0);

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function rebuildJob(
  row: JobRowWithBlobs,
  checkpoints: ReadonlyMap<number, Uint8Array> | undefined,
  deps: RebuildDeps,
  options: { readonly cacheReady: boolean },
): RebuildOutcome {
  const state = row.state;
  if (state !== "Ready" && state !== "Running" && state !== "CommitReady" && state !== "CleanupReady") {
    return { kind: "quarantine", reason: `job in state ${state} is not recoverable` };
  }
  // Only Ready and Running jobs read their inputs again; CommitReady and
  // CleanupReady jobs run just their commit or cleanup task, so their inputs
  // are not decompressed (at restart that is most of the work per job).
  const needsInputs = state === "Running" || state === "Ready";
  let graph: TaskGraph;
  let inputs: Uint8Array[];
  try {
    if (needsInputs) {
      const submission: ValidatedJobSubmission = validateJobSubmission(row.compressedTaskGraph, row.compressedInputs, deps.limits, deps.graphCache);
      graph = submission.graph;
      // Decoded payloads are views into larger buffers (zlib's 64 KiB output
      // chunk, the driver's packet): copy what the cache keeps, so a job holds
      // its bytes and not a page's.
      inputs = compactCopy(submission.inputs);
    } else {
      graph = validateTaskGraph(row.compressedTaskGraph, deps.limits, deps.graphCache);
      inputs = new Array<Uint8Array>(graph.graphInputCount).fill(NO_INPUT);
    }
  } catch (error) {
    return { kind: "quarantine", reason: `${state} job's stored task graph or inputs cannot be decoded: ${message(error)}` };
  }
  const init = { jobId: row.id, resourceGroupId: row.resourceGroupId, graph, inputs, engine: deps.engine };
  const rebuilt = (jcb: JobControlBlock, restoredTasks = 0, unusedCheckpoints: readonly number[] = [], corruptCheckpoints = 0): RebuildOutcome => ({
    kind: "rebuilt",
    jcb,
    restoredTasks,
    unusedCheckpoints,
    corruptCheckpoints,
  });

  switch (state) {
    case "Ready":
      return options.cacheReady ? rebuilt(JobControlBlock.recovered(init, "Ready")) : { kind: "deferred" };

    case "CommitReady": {
      if (graph.commitTask === null) return { kind: "quarantine", reason: "CommitReady job's task graph has no commit task" };
      if (row.outputs === null || row.outputs.length === 0) return { kind: "quarantine", reason: "CommitReady job has no stored outputs" };
      try {
        const outputs = decodeTaskOutputs(row.outputs, { maxOutputBytes: deps.limits.maxDecompressedBytes, what: "stored job outputs" });
        if (outputs.length !== graph.graphOutputs.length) {
          return { kind: "quarantine", reason: `CommitReady job's stored outputs hold ${outputs.length} value(s), its graph has ${graph.graphOutputs.length}` };
        }
      } catch (error) {
        return { kind: "quarantine", reason: `CommitReady job's stored outputs cannot be decoded: ${message(error)}` };
      }
      return rebuilt(JobControlBlock.recovered(init, "CommitReady", new Uint8Array(row.outputs)));
    }

    case "CleanupReady":
      if (graph.cleanupTask === null) return { kind: "quarantine", reason: "CleanupReady job's task graph has no cleanup task" };
      return rebuilt(JobControlBlock.recovered(init, "CleanupReady"));

    case "Running": {
      const jcb = JobControlBlock.recovered(init, "Running");
      if (checkpoints === undefined || checkpoints.size === 0) return rebuilt(jcb);
      let restored = 0;
      let corrupt = 0;
      const unused: number[] = [];
      for (const index of [...checkpoints.keys()].sort((a, b) => a - b)) {
        const frame = checkpoints.get(index)!;
        const task = graph.tasks[index];
        if (task === undefined || !isDecodable(frame, task.outputCount)) {
          corrupt++;
          unused.push(index);
        } else if (jcb.restoreSucceededTask(index, frame)) {
          restored++;
        } else {
          unused.push(index);
        }
      }
      return rebuilt(jcb, restored, unused, corrupt);
    }
  }
}

/** The payloads copied into one buffer of their exact total size (views into it). */
export function compactCopy(payloads: readonly Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const payload of payloads) total += payload.byteLength;
  const buffer = new Uint8Array(total);
  let offset = 0;
  return payloads.map((payload) => {
    buffer.set(payload, offset);
    offset += payload.byteLength;
    return buffer.subarray(offset - payload.byteLength, offset);
  });
}

function isDecodable(frame: Uint8Array, outputCount: number): boolean {
  try {
    return decodeWireFrame(frame, "task checkpoint").length === outputCount;
  } catch {
    return false;
  }
}
