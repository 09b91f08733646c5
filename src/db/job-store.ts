/**
 * The persistence the job engine needs, as one interface with two
 * implementations: {@link MariaDbJobStore} over src/db (production) and
 * `MemoryJobStore` in testkit/ (fast engine tests; DECISIONS D13 says every scenario
 * run on it also runs on MariaDB).
 *
 * Error contract, shared by both implementations (StorageError kinds, D5):
 * - an unknown job → "not_found"; a transition the job's current state forbids
 *   (src/core/job-state.ts) or a read in the wrong state → "failed_precondition";
 * - unknown resource group or wrong password → "unauthenticated"; duplicate
 *   external resource-group id → "already_exists";
 * - heartbeat of an unknown execution manager → "illegal_execution_manager",
 *   of a dead one → "failed_precondition";
 * - database unreachable, nothing written → "unavailable"; outcome unknown
 *   (connection lost during COMMIT) → "internal".
 * Every job transition is written in one transaction under a row lock.
 */
import type { JobState, TransitionActor } from "../core/job-state.ts";
import type { JobOutcome } from "./jobs/getJobOutcome.ts";
import type { JobRowWithBlobs } from "./jobs/job-row.ts";
import type { JobOutputsSize } from "./jobs/getJobOutputsSize.ts";
import type { ExecutionManagerLiveness } from "../core/execution-manager-liveness.ts";

export interface SchedulerRecord {
  readonly schedulerId: bigint;
  readonly host: string;
  readonly port: number;
}

/** A succeeded regular task's outputs, persisted so a restart can resume a Running job (D9). */
export interface TaskCheckpoint {
  readonly jobId: bigint;
  readonly taskIndex: number;
  /** The task's outputs as an uncompressed wire frame, exactly as reported. */
  readonly outputs: Uint8Array;
}

export type { JobOutcome, JobOutputsSize, JobRowWithBlobs };

/** The largest values one job transition can store; a larger one fails the same way every time. */
export interface StoreWriteLimits {
  /** Most bytes of job outputs (raw SerializedTaskOutputs). */
  readonly maxOutputsBytes: number;
  /** Most bytes of a job's error message; longer ones are truncated to this. */
  readonly maxErrorMessageBytes: number;
  /** Where the limits come from, for messages ("max_allowed_packet 16777216"). */
  readonly source: string;
}

/** Error messages are cut to this, whatever the packet allows: enough to diagnose, small to keep. */
export const MAX_ERROR_MESSAGE_BYTES = 1024 * 1024;

export interface JobStore {
  /** Whether the execution manager is alive, declared dead, or unknown (never registered). */
  executionManagerLiveness(executionManagerId: bigint): Promise<ExecutionManagerLiveness>;
  /** Marks execution managers silent for longer than `staleAfterMs` dead and returns them, each exactly once. */
  reapDeadExecutionManagers(staleAfterMs: number): Promise<bigint[]>;
  /** Inserts a Ready job; the resource group must exist ("unauthenticated" otherwise). */
  insertJob(resourceGroupId: bigint, compressedGraph: Uint8Array, compressedInputs: Uint8Array): Promise<bigint>;
  /** Ready → Running. */
  startJob(jobId: bigint): Promise<void>;
  /** Running → CommitReady (with a commit task) or Succeeded, storing the job outputs (SerializedTaskOutputs raw). */
  commitJobOutputs(jobId: bigint, serializedOutputs: Uint8Array, hasCommitTask: boolean): Promise<void>;
  /** CommitReady → Succeeded (the commit task succeeded). */
  succeedCommittedJob(jobId: bigint): Promise<void>;
  /** Cancels per {@link cancelTarget}: returns the new state (CleanupReady or Cancelled). */
  cancelJob(jobId: bigint, hasCleanupTask: boolean): Promise<JobState>;
  /** CleanupReady → Cancelled (the cleanup task succeeded). */
  finishCleanup(jobId: bigint): Promise<void>;
  /**
   * `from` → Failed with the message. The database refuses ("failed_precondition")
   * when the job is not in `from`, so a stale cache never fails a job that has
   * moved on (a cancelled job's cleanup, issue #16 B).
   */
  failJob(jobId: bigint, errorMessage: string, from: JobState): Promise<void>;
  /**
   * → Failed with the message, asked by `by`: the operator's `jobs fail`, or
   * the quarantine of a row that cannot be loaded (D4 lets both fail a Ready
   * job). From any state the table lets `by` leave for Failed, or only from
   * `from` when given; otherwise "failed_precondition" (a terminal job, say).
   * Returns the state the job left.
   */
  failJobBy(jobId: bigint, errorMessage: string, by: TransitionActor, from?: readonly JobState[]): Promise<JobState>;
  /** The operator's `jobs retry`: Failed → Running (D4), clearing the error, the outputs and the end time. */
  retryFailedJob(jobId: bigint): Promise<void>;
  /** The job's whole row, its graph, inputs and outputs included (what an operator's retry or reload rebuilds from). */
  getJob(jobId: bigint): Promise<JobRowWithBlobs>;
  getJobState(jobId: bigint): Promise<JobState>;
  /** The job's state and, when CommitReady or Succeeded, its stored outputs: the truth to follow after an unknown outcome. */
  getJobOutcome(jobId: bigint): Promise<JobOutcome>;
  /** The largest values a job transition can store (read once from the server: max_allowed_packet). */
  writeLimits(): Promise<StoreWriteLimits>;
  /** The stored SerializedTaskOutputs raw bytes; "failed_precondition" unless Succeeded. */
  getJobOutputs(jobId: bigint): Promise<Uint8Array>;
  /** The job's state and the size of its stored outputs (any state), without reading them. */
  getJobOutputsSize(jobId: bigint): Promise<JobOutputsSize>;
  /** "failed_precondition" unless Failed. */
  getJobError(jobId: bigint): Promise<string>;

  addResourceGroup(externalId: string, password: Uint8Array): Promise<bigint>;
  verifyResourceGroup(resourceGroupId: bigint, password: Uint8Array): Promise<void>;

  registerExecutionManager(ipAddress: string): Promise<bigint>;
  heartbeatExecutionManager(executionManagerId: bigint): Promise<void>;
  /**
   * The operator declares an execution manager dead now (`em release`): true
   * when it was alive, false when already dead; never registered → "illegal_execution_manager".
   */
  markExecutionManagerDead(executionManagerId: bigint): Promise<boolean>;

  /** Replaces every registered scheduler with this one. */
  registerScheduler(host: string, port: number): Promise<bigint>;
  listSchedulers(): Promise<SchedulerRecord[]>;

  /** Persists task checkpoints, in the order given. */
  writeCheckpoints(checkpoints: readonly TaskCheckpoint[]): Promise<void>;
  readCheckpoints(jobId: bigint): Promise<TaskCheckpoint[]>;
  /** Deletes these checkpoints of the job (a reload's unused ones: re-run tasks' new ones must not be shadowed); returns how many went. */
  deleteCheckpoints(jobId: bigint, taskIndices: readonly number[]): Promise<number>;
}
