/**
 * The production {@link JobStore}: each operation delegates to one function
 * of src/db (which owns the SQL, the transactions, the retries of transient
 * errors and the mapping of database errors to StorageError kinds).
 */
import { isStorageError } from "../core/errors.ts";
import type { JobState, TransitionActor } from "../core/job-state.ts";
import { BatchedJobWrites, type GroupCommitSettings } from "./batched-job-writes.ts";
import type { Db } from "./connection.ts";
import { heartbeatExecutionManager } from "./execution-managers/heartbeatExecutionManager.ts";
import { isExecutionManagerAlive } from "./execution-managers/isExecutionManagerAlive.ts";
import { markExecutionManagerDead } from "./execution-managers/markExecutionManagerDead.ts";
import { reapDeadExecutionManagers } from "./execution-managers/reapDeadExecutionManagers.ts";
import { registerExecutionManager } from "./execution-managers/registerExecutionManager.ts";
import { cancelJob } from "./jobs/cancelJob.ts";
import { commitJobOutputs } from "./jobs/commitJobOutputs.ts";
import { failJob } from "./jobs/failJob.ts";
import { finishCleanup } from "./jobs/finishCleanup.ts";
import { getJob } from "./jobs/getJob.ts";
import { getJobError } from "./jobs/getJobError.ts";
import { getJobOutputs } from "./jobs/getJobOutputs.ts";
import { getJobOutputsSize, type JobOutputsSize } from "./jobs/getJobOutputsSize.ts";
import { getJobOutcome, type JobOutcome } from "./jobs/getJobOutcome.ts";
import { getJobState } from "./jobs/getJobState.ts";
import { maxValueBytes, readMaxAllowedPacket } from "./max-allowed-packet.ts";
import type { JobRowWithBlobs } from "./jobs/job-row.ts";
import { retryFailedJob } from "./jobs/retryFailedJob.ts";
import { startJob } from "./jobs/startJob.ts";
import { succeedCommittedJob } from "./jobs/succeedCommittedJob.ts";
import { deleteCheckpointsOfTasks } from "./checkpoints/deleteCheckpointsOfTasks.ts";
import { readCheckpoints } from "./checkpoints/readCheckpoints.ts";
import { writeCheckpoints } from "./checkpoints/writeCheckpoints.ts";
import { addResourceGroup } from "./resource-groups/addResourceGroup.ts";
import { verifyResourceGroup } from "./resource-groups/verifyResourceGroup.ts";
import { listSchedulers } from "./schedulers/listSchedulers.ts";
import { registerScheduler } from "./schedulers/registerScheduler.ts";
import type { ExecutionManagerLiveness } from "../core/execution-manager-liveness.ts";
import { MAX_ERROR_MESSAGE_BYTES, type JobStore, type SchedulerRecord, type StoreWriteLimits, type TaskCheckpoint } from "./job-store.ts";

/** Without settings: one statement per request, as before group commit. */
const NO_GROUP_COMMIT: GroupCommitSettings = { enabled: false, maxBatch: 1, maxInFlight: 1 };

export class MariaDbJobStore implements JobStore {
  readonly db: Db;
  /** RegisterJob's inserts and the engine's per-job moves, group-committed across requests. */
  readonly writes: BatchedJobWrites;
  #limits: Promise<StoreWriteLimits> | undefined;

  constructor(db: Db, groupCommit: GroupCommitSettings = NO_GROUP_COMMIT) {
    this.db = db;
    this.writes = new BatchedJobWrites(db, groupCommit);
  }

  insertJob(resourceGroupId: bigint, compressedGraph: Uint8Array, compressedInputs: Uint8Array): Promise<bigint> {
    return this.writes.insertJob({ resourceGroupId, compressedTaskGraph: compressedGraph, compressedInputs });
  }

  startJob(jobId: bigint): Promise<void> {
    return this.writes.move("Ready", "Running", { jobId }, async () => {
      await startJob(this.db, jobId);
    });
  }

  commitJobOutputs(jobId: bigint, serializedOutputs: Uint8Array, hasCommitTask: boolean): Promise<void> {
    return this.writes.move("Running", hasCommitTask ? "CommitReady" : "Succeeded", { jobId, outputs: serializedOutputs }, async () => {
      await commitJobOutputs(this.db, jobId, serializedOutputs, hasCommitTask);
    });
  }

  succeedCommittedJob(jobId: bigint): Promise<void> {
    return this.writes.move("CommitReady", "Succeeded", { jobId }, async () => {
      await succeedCommittedJob(this.db, jobId);
    });
  }

  cancelJob(jobId: bigint, hasCleanupTask: boolean): Promise<JobState> {
    return cancelJob(this.db, jobId, hasCleanupTask);
  }

  finishCleanup(jobId: bigint): Promise<void> {
    return this.writes.move("CleanupReady", "Cancelled", { jobId }, async () => {
      await finishCleanup(this.db, jobId);
    });
  }

  failJob(jobId: bigint, errorMessage: string, from: JobState): Promise<void> {
    return this.writes.move(from, "Failed", { jobId, errorMessage }, async () => {
      await failJob(this.db, jobId, errorMessage, "engine", [from]);
    });
  }

  async failJobBy(jobId: bigint, errorMessage: string, by: TransitionActor, from?: readonly JobState[]): Promise<JobState> {
    return (await failJob(this.db, jobId, errorMessage, by, from)).from;
  }

  async retryFailedJob(jobId: bigint): Promise<void> {
    await retryFailedJob(this.db, jobId);
  }

  getJob(jobId: bigint): Promise<JobRowWithBlobs> {
    return getJob(this.db, jobId, { withBlobs: true });
  }

  getJobOutcome(jobId: bigint): Promise<JobOutcome> {
    return getJobOutcome(this.db, jobId);
  }

  /** Read from the server once (again after a failed read). */
  writeLimits(): Promise<StoreWriteLimits> {
    this.#limits ??= readMaxAllowedPacket(this.db).then(
      (packet) => {
        const value = maxValueBytes(packet);
        return {
          maxOutputsBytes: value,
          maxErrorMessageBytes: Math.min(value, MAX_ERROR_MESSAGE_BYTES),
          source: `the server's max_allowed_packet of ${packet} bytes`,
        };
      },
      (error: unknown) => {
        this.#limits = undefined;
        throw error;
      },
    );
    return this.#limits;
  }

  getJobState(jobId: bigint): Promise<JobState> {
    return getJobState(this.db, jobId);
  }

  getJobOutputs(jobId: bigint): Promise<Uint8Array> {
    return getJobOutputs(this.db, jobId);
  }

  getJobOutputsSize(jobId: bigint): Promise<JobOutputsSize> {
    return getJobOutputsSize(this.db, jobId);
  }

  getJobError(jobId: bigint): Promise<string> {
    return getJobError(this.db, jobId);
  }

  addResourceGroup(externalId: string, password: Uint8Array): Promise<bigint> {
    return addResourceGroup(this.db, { externalId, password });
  }

  verifyResourceGroup(resourceGroupId: bigint, password: Uint8Array): Promise<void> {
    return verifyResourceGroup(this.db, { resourceGroupId, password });
  }

  registerExecutionManager(ipAddress: string): Promise<bigint> {
    return registerExecutionManager(this.db, ipAddress);
  }

  heartbeatExecutionManager(executionManagerId: bigint): Promise<void> {
    return heartbeatExecutionManager(this.db, executionManagerId);
  }

  markExecutionManagerDead(executionManagerId: bigint): Promise<boolean> {
    return markExecutionManagerDead(this.db, executionManagerId);
  }

  async executionManagerLiveness(executionManagerId: bigint): Promise<ExecutionManagerLiveness> {
    try {
      return (await isExecutionManagerAlive(this.db, executionManagerId)) ? "alive" : "dead";
    } catch (error) {
      if (isStorageError(error, "illegal_execution_manager")) return "unknown";
      throw error;
    }
  }

  reapDeadExecutionManagers(staleAfterMs: number): Promise<bigint[]> {
    return reapDeadExecutionManagers(this.db, { staleAfterMs });
  }

  registerScheduler(host: string, port: number): Promise<bigint> {
    return registerScheduler(this.db, host, port);
  }

  async listSchedulers(): Promise<SchedulerRecord[]> {
    const rows = await listSchedulers(this.db);
    return rows.map((row) => ({ schedulerId: row.id, host: row.host, port: row.port }));
  }

  async writeCheckpoints(checkpoints: readonly TaskCheckpoint[]): Promise<void> {
    await writeCheckpoints(this.db, checkpoints);
  }

  async readCheckpoints(jobId: bigint): Promise<TaskCheckpoint[]> {
    const frames = await readCheckpoints(this.db, jobId);
    return [...frames].map(([taskIndex, outputs]) => ({ jobId, taskIndex, outputs }));
  }

  deleteCheckpoints(jobId: bigint, taskIndices: readonly number[]): Promise<number> {
    return deleteCheckpointsOfTasks(this.db, jobId, taskIndices);
  }
}
