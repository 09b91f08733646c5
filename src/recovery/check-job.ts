/**
 * Checks one stored job (its row and, for a Running job, its task
 * checkpoints) as restart recovery uses it: everything is decoded and
 * validated, and what the rebuilt job control block would hold is worked out
 * — or the reason the row cannot be used, so recovery quarantines it instead
 * of refusing to start (spec §5 aborts the whole start-up on such a row; we
 * do not). Pure: no database access and no control block built. The dry run
 * stops here; rebuild-job.ts builds the block from what this returns.
 *
 * Per state:
 * - Ready: graph and inputs validated; rebuilt only when asked (`cacheReady`),
 *   otherwise left in the database until StartJob loads it (ready-job-loader.ts).
 * - Running: graph and inputs validated, then the checkpoints planned
 *   (DECISIONS D9): in index order, a task is restored Succeeded when its
 *   checkpoint decodes to its output count and all its parents were restored
 *   — except the last task left, which runs again so the job's outputs are
 *   committed by the normal path. Since a task's parents have lower indices,
 *   one pass in index order decides every task. Checkpoints not used are
 *   listed so recovery deletes them: the task runs again and its new
 *   checkpoint must not be shadowed by the stale one (INSERT IGNORE keeps the
 *   first), which, with a non-deterministic task, would pair a child's old
 *   outputs with its parent's new ones after a second restart.
 * - CommitReady: the graph has a commit task; the stored job outputs decode
 *   and match the graph's outputs.
 * - CleanupReady: the graph has a cleanup task.
 */
import { STORED_JOB_LIMITS, validateJobSubmission, validateTaskGraph, type SubmissionLimits } from "../core/job-submission.ts";
import type { TaskGraph } from "../core/task-graph.ts";
import type { TaskGraphCache } from "../core/task-graph-cache.ts";
import { decodeTaskOutputs } from "../core/task-outputs.ts";
import { decodeWireFrame } from "../core/wire-frame.ts";
import type { RecoverableState } from "./recovery-report.ts";
import type { StoredJob } from "./stored-job.ts";

/** What stored rows are decoded with. */
export interface RecoveryDecoding {
  /** {@link recoveryLimits} of the configured submission limits. */
  readonly limits: SubmissionLimits;
  /** Parsed graphs shared by jobs with the same graph. */
  readonly graphCache?: TaskGraphCache;
}

/** A usable job, and what its rebuilt control block holds. */
export interface CheckedJob {
  readonly jobId: bigint;
  readonly resourceGroupId: bigint;
  readonly state: RecoverableState;
  readonly graph: TaskGraph;
  /** Ready and Running: the job inputs; CommitReady and CleanupReady never read them (empty stand-ins). */
  readonly inputs: readonly Uint8Array[];
  /** CommitReady: the stored job outputs (the row's buffer). */
  readonly outputs: Uint8Array | undefined;
  /** Running: the checkpoints' task indices restored Succeeded, ascending. */
  readonly restored: readonly number[];
  /** Running: the checkpoints (the frames of {@link restored} among them). */
  readonly checkpoints: ReadonlyMap<number, Uint8Array> | undefined;
  /** Checkpointed task indices not used (to delete). */
  readonly unusedCheckpoints: readonly number[];
  /** Of those, how many could not be decoded (or name no task of the graph). */
  readonly corruptCheckpoints: number;
  /** Running: regular tasks Ready once the checkpoints are restored (what the refill queues). */
  readonly readyTasks: number;
  /** Bytes of payload the block holds: inputs and restored outputs (Ready, Running), the stored outputs (CommitReady). */
  readonly payloadBytes: number;
}

export type CheckOutcome =
  | { readonly kind: "usable"; readonly job: CheckedJob }
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

export function checkJob(stored: StoredJob, decoding: RecoveryDecoding, options: { readonly cacheReady: boolean }): CheckOutcome {
  const { row } = stored;
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
      const submission = validateJobSubmission(row.compressedTaskGraph, row.compressedInputs, decoding.limits, decoding.graphCache);
      graph = submission.graph;
      // Decoded payloads are views into larger buffers (zlib's 64 KiB output
      // chunk, the driver's packet): copy what the cache keeps, so a job holds
      // its bytes and not a page's.
      inputs = compactCopy(submission.inputs);
    } else {
      graph = validateTaskGraph(row.compressedTaskGraph, decoding.limits, decoding.graphCache);
      inputs = new Array<Uint8Array>(graph.graphInputCount).fill(NO_INPUT);
    }
  } catch (error) {
    return { kind: "quarantine", reason: `${state} job's stored task graph or inputs cannot be decoded: ${message(error)}` };
  }
  const inputBytes = needsInputs ? inputs.reduce((sum, input) => sum + input.byteLength, 0) : 0;
  const usable = (fields: Partial<CheckedJob> = {}): CheckOutcome => ({
    kind: "usable",
    job: {
      jobId: row.id,
      resourceGroupId: row.resourceGroupId,
      state,
      graph,
      inputs,
      outputs: undefined,
      restored: [],
      checkpoints: undefined,
      unusedCheckpoints: [],
      corruptCheckpoints: 0,
      readyTasks: 0,
      payloadBytes: inputBytes,
      ...fields,
    },
  });

  switch (state) {
    case "Ready":
      return options.cacheReady ? usable() : { kind: "deferred" };

    case "CommitReady": {
      if (graph.commitTask === null) return { kind: "quarantine", reason: "CommitReady job's task graph has no commit task" };
      if (row.outputs === null || row.outputs.length === 0) return { kind: "quarantine", reason: "CommitReady job has no stored outputs" };
      try {
        const outputs = decodeTaskOutputs(row.outputs, { maxOutputBytes: decoding.limits.maxDecompressedBytes, what: "stored job outputs" });
        if (outputs.length !== graph.graphOutputCount) {
          return { kind: "quarantine", reason: `CommitReady job's stored outputs hold ${outputs.length} value(s), its graph has ${graph.graphOutputCount}` };
        }
      } catch (error) {
        return { kind: "quarantine", reason: `CommitReady job's stored outputs cannot be decoded: ${message(error)}` };
      }
      return usable({ outputs: row.outputs, payloadBytes: row.outputs.length });
    }

    case "CleanupReady":
      if (graph.cleanupTask === null) return { kind: "quarantine", reason: "CleanupReady job's task graph has no cleanup task" };
      return usable();

    case "Running": {
      const plan = planCheckpoints(graph, stored.checkpoints);
      return usable({ ...plan, checkpoints: stored.checkpoints, payloadBytes: inputBytes + plan.restoredBytes });
    }
  }
}

/** The Running job's checkpoints sorted into restored and unused (see the module comment). */
function planCheckpoints(
  graph: TaskGraph,
  checkpoints: ReadonlyMap<number, Uint8Array> | undefined,
): { restored: number[]; unusedCheckpoints: number[]; corruptCheckpoints: number; readyTasks: number; restoredBytes: number } {
  const tasks = graph.tasks;
  // Parents not restored, per task: a task is Ready when it reaches 0 (as the control block counts them).
  const waiting = new Uint32Array(tasks.length);
  for (let i = 0; i < tasks.length; i++) waiting[i] = tasks[i]!.parents.length;
  const isRestored = new Uint8Array(tasks.length);
  const restored: number[] = [];
  const unusedCheckpoints: number[] = [];
  let corruptCheckpoints = 0;
  let restoredBytes = 0;
  for (const index of [...(checkpoints?.keys() ?? [])].sort((a, b) => a - b)) {
    const task = tasks[index];
    const outputs = task === undefined ? undefined : decodeCheckpoint(checkpoints!.get(index)!, task.outputCount);
    if (outputs === undefined) {
      corruptCheckpoints++;
      unusedCheckpoints.push(index);
    } else if (waiting[index] !== 0 || restored.length >= tasks.length - 1) {
      unusedCheckpoints.push(index);
    } else {
      restored.push(index);
      isRestored[index] = 1;
      for (const output of outputs) restoredBytes += output.byteLength;
      for (const child of task!.children) waiting[child] = waiting[child]! - 1;
    }
  }
  let readyTasks = 0;
  for (let i = 0; i < tasks.length; i++) if (isRestored[i] === 0 && waiting[i] === 0) readyTasks++;
  return { restored, unusedCheckpoints, corruptCheckpoints, readyTasks, restoredBytes };
}

/** The checkpoint's outputs, or undefined when it does not decode to the task's output count. */
function decodeCheckpoint(frame: Uint8Array, outputCount: number): Uint8Array[] | undefined {
  try {
    const outputs = decodeWireFrame(frame, "task checkpoint");
    return outputs.length === outputCount ? outputs : undefined;
  } catch {
    return undefined;
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
