/**
 * An in-memory {@link JobStore} with the same answers and errors as the
 * MariaDB one, for fast engine tests (DECISIONS D13: every scenario that uses
 * it also runs against MariaDB). Execution-manager silence is measured with an
 * injectable wall clock, as the database measures it with its own.
 */
import { timingSafeEqual } from "node:crypto";
import { failedPrecondition, notFound, StorageError } from "../src/core/errors.ts";
import { canTransition, cancelTarget, isTerminal, type JobState, type TransitionActor } from "../src/core/job-state.ts";
import type { ExecutionManagerLiveness } from "../src/core/execution-manager-liveness.ts";
import type { JobOutcome } from "../src/db/jobs/getJobOutcome.ts";
import type { JobOutputsSize } from "../src/db/jobs/getJobOutputsSize.ts";
import type { JobRowWithBlobs } from "../src/db/jobs/job-row.ts";
import { maxValueBytes } from "../src/db/max-allowed-packet.ts";
import { MAX_ERROR_MESSAGE_BYTES, type JobStore, type SchedulerRecord, type StoreWriteLimits, type TaskCheckpoint } from "../src/db/job-store.ts";

interface JobRow {
  readonly resourceGroupId: bigint;
  state: JobState;
  readonly compressedGraph: Uint8Array;
  readonly compressedInputs: Uint8Array;
  outputs: Uint8Array | undefined;
  errorMessage: string | undefined;
  readonly createdAt: number;
  updatedAt: number;
  endedAt: number | undefined;
}

interface ExecutionManagerRow {
  readonly ipAddress: string;
  state: "Alive" | "Dead";
  lastHeartbeatAt: number;
}

export interface MemoryJobStoreOptions {
  /** Wall clock in milliseconds (default `Date.now`). */
  readonly now?: () => number;
  /** The packet limit the MariaDB store would read from its server (default 16 MiB, MariaDB's). */
  readonly maxAllowedPacket?: number;
}

export class MemoryJobStore implements JobStore {
  private readonly now: () => number;
  private nextJobId = 1n;
  private nextResourceGroupId = 1n;
  private nextExecutionManagerId = 1n;
  private nextSchedulerId = 1n;
  readonly jobs = new Map<bigint, JobRow>();
  private readonly resourceGroups = new Map<bigint, { externalId: string; password: Uint8Array }>();
  private readonly executionManagers = new Map<bigint, ExecutionManagerRow>();
  private schedulers: SchedulerRecord[] = [];
  private readonly checkpoints = new Map<bigint, TaskCheckpoint[]>();

  private readonly maxAllowedPacket: number;

  constructor(options: MemoryJobStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxAllowedPacket = options.maxAllowedPacket ?? 16 * 1024 * 1024;
  }

  async insertJob(resourceGroupId: bigint, compressedGraph: Uint8Array, compressedInputs: Uint8Array): Promise<bigint> {
    if (!this.resourceGroups.has(resourceGroupId)) throw new StorageError("unauthenticated", "invalid resource group");
    const id = this.nextJobId++;
    const now = this.now();
    this.jobs.set(id, {
      resourceGroupId,
      state: "Ready",
      compressedGraph,
      compressedInputs,
      outputs: undefined,
      errorMessage: undefined,
      createdAt: now,
      updatedAt: now,
      endedAt: undefined,
    });
    return id;
  }

  async startJob(jobId: bigint): Promise<void> {
    const job = this.job(jobId);
    if (job.state !== "Ready") throw failedPrecondition(`job in state ${job.state}, expected Ready`);
    this.transition(job, "Running");
  }

  async commitJobOutputs(jobId: bigint, serializedOutputs: Uint8Array, hasCommitTask: boolean): Promise<void> {
    const job = this.job(jobId);
    this.transition(job, hasCommitTask ? "CommitReady" : "Succeeded");
    job.outputs = serializedOutputs;
  }

  async succeedCommittedJob(jobId: bigint): Promise<void> {
    const job = this.job(jobId);
    if (job.state !== "CommitReady") throw failedPrecondition(`job in state ${job.state}, expected CommitReady`);
    this.transition(job, "Succeeded");
  }

  async cancelJob(jobId: bigint, hasCleanupTask: boolean): Promise<JobState> {
    const job = this.job(jobId);
    // Idempotent, like the database's: CleanupReady or terminal stays as it is.
    if (job.state === "CleanupReady" || isTerminal(job.state)) return job.state;
    const target = cancelTarget(job.state, hasCleanupTask);
    if (target === undefined) throw failedPrecondition(`job in state ${job.state} cannot be cancelled`);
    this.transition(job, target);
    return target;
  }

  async finishCleanup(jobId: bigint): Promise<void> {
    const job = this.job(jobId);
    if (job.state !== "CleanupReady") throw failedPrecondition(`job in state ${job.state}, expected CleanupReady`);
    this.transition(job, "Cancelled");
  }

  async failJob(jobId: bigint, errorMessage: string, from: JobState): Promise<void> {
    const job = this.job(jobId);
    if (job.state !== from) throw failedPrecondition(`job in state ${job.state}, expected ${from}`);
    this.transition(job, "Failed");
    job.errorMessage = errorMessage;
  }

  async failJobBy(jobId: bigint, errorMessage: string, by: TransitionActor, from?: readonly JobState[]): Promise<JobState> {
    const job = this.job(jobId);
    const previous = job.state;
    if (from !== undefined && !from.includes(previous)) throw failedPrecondition(`job in state ${previous}, expected ${from.join(" or ")}`);
    this.transition(job, "Failed", by);
    job.errorMessage = errorMessage;
    return previous;
  }

  async retryFailedJob(jobId: bigint): Promise<void> {
    const job = this.job(jobId);
    if (job.state !== "Failed") throw failedPrecondition(`job in state ${job.state}, expected Failed`);
    this.transition(job, "Running", "operator");
  }

  async getJob(jobId: bigint): Promise<JobRowWithBlobs> {
    const job = this.job(jobId);
    return {
      id: jobId,
      resourceGroupId: job.resourceGroupId,
      state: job.state,
      errorMessage: job.errorMessage ?? null,
      createdAt: new Date(job.createdAt),
      updatedAt: new Date(job.updatedAt),
      endedAt: job.endedAt === undefined ? null : new Date(job.endedAt),
      compressedTaskGraph: job.compressedGraph,
      compressedInputs: job.compressedInputs,
      outputs: job.outputs ?? null,
    };
  }

  async getJobState(jobId: bigint): Promise<JobState> {
    return this.job(jobId).state;
  }

  async getJobOutcome(jobId: bigint): Promise<JobOutcome> {
    const job = this.job(jobId);
    const hasOutputs = job.state === "CommitReady" || job.state === "Succeeded";
    return { state: job.state, outputs: hasOutputs ? job.outputs : undefined };
  }

  async writeLimits(): Promise<StoreWriteLimits> {
    const value = maxValueBytes(this.maxAllowedPacket);
    return {
      maxOutputsBytes: value,
      maxErrorMessageBytes: Math.min(value, MAX_ERROR_MESSAGE_BYTES),
      source: `the server's max_allowed_packet of ${this.maxAllowedPacket} bytes`,
    };
  }

  async getJobOutputs(jobId: bigint): Promise<Uint8Array> {
    const job = this.job(jobId);
    if (job.state !== "Succeeded") throw failedPrecondition(`job in state ${job.state}, expected Succeeded`);
    if (job.outputs === undefined) throw new StorageError("internal", `job ${jobId} succeeded without outputs`);
    return job.outputs;
  }

  async getJobOutputsSize(jobId: bigint): Promise<JobOutputsSize> {
    const job = this.job(jobId);
    return { state: job.state, bytes: job.outputs?.length };
  }

  async getJobError(jobId: bigint): Promise<string> {
    const job = this.job(jobId);
    if (job.state !== "Failed") throw failedPrecondition(`job in state ${job.state}, expected Failed`);
    return job.errorMessage ?? "";
  }

  async addResourceGroup(externalId: string, password: Uint8Array): Promise<bigint> {
    for (const group of this.resourceGroups.values()) {
      if (group.externalId === externalId) {
        throw new StorageError("already_exists", `resource group \`${JSON.stringify(externalId)}\` already exists`);
      }
    }
    const id = this.nextResourceGroupId++;
    this.resourceGroups.set(id, { externalId, password: Uint8Array.from(password) });
    return id;
  }

  async verifyResourceGroup(resourceGroupId: bigint, password: Uint8Array): Promise<void> {
    const group = this.resourceGroups.get(resourceGroupId);
    const ok =
      group !== undefined &&
      group.password.length === password.length &&
      timingSafeEqual(group.password, password);
    if (!ok) throw new StorageError("unauthenticated", "invalid resource group");
  }

  async registerExecutionManager(ipAddress: string): Promise<bigint> {
    const id = this.nextExecutionManagerId++;
    this.executionManagers.set(id, { ipAddress, state: "Alive", lastHeartbeatAt: this.now() });
    return id;
  }

  async heartbeatExecutionManager(executionManagerId: bigint): Promise<void> {
    const em = this.executionManagers.get(executionManagerId);
    if (em === undefined) {
      throw new StorageError("illegal_execution_manager", `execution manager ${executionManagerId} is illegal`);
    }
    if (em.state === "Dead") throw failedPrecondition(`execution manager ${executionManagerId} is already dead`);
    em.lastHeartbeatAt = this.now();
  }

  async markExecutionManagerDead(executionManagerId: bigint): Promise<boolean> {
    const em = this.executionManagers.get(executionManagerId);
    if (em === undefined) {
      throw new StorageError("illegal_execution_manager", `execution manager ${executionManagerId} is illegal`);
    }
    if (em.state === "Dead") return false;
    em.state = "Dead";
    return true;
  }

  async executionManagerLiveness(executionManagerId: bigint): Promise<ExecutionManagerLiveness> {
    const em = this.executionManagers.get(executionManagerId);
    return em === undefined ? "unknown" : em.state === "Alive" ? "alive" : "dead";
  }

  async reapDeadExecutionManagers(staleAfterMs: number): Promise<bigint[]> {
    const cutoff = this.now() - staleAfterMs;
    const dead: bigint[] = [];
    for (const [id, em] of this.executionManagers) {
      if (em.state === "Alive" && em.lastHeartbeatAt < cutoff) {
        em.state = "Dead";
        dead.push(id);
      }
    }
    return dead;
  }

  async registerScheduler(host: string, port: number): Promise<bigint> {
    const id = this.nextSchedulerId++;
    this.schedulers = [{ schedulerId: id, host, port }];
    return id;
  }

  async listSchedulers(): Promise<SchedulerRecord[]> {
    return [...this.schedulers];
  }

  async writeCheckpoints(checkpoints: readonly TaskCheckpoint[]): Promise<void> {
    for (const checkpoint of checkpoints) {
      const list = this.checkpoints.get(checkpoint.jobId) ?? [];
      if (!list.some((c) => c.taskIndex === checkpoint.taskIndex)) list.push(checkpoint);
      this.checkpoints.set(checkpoint.jobId, list);
    }
  }

  async readCheckpoints(jobId: bigint): Promise<TaskCheckpoint[]> {
    return [...(this.checkpoints.get(jobId) ?? [])].sort((a, b) => a.taskIndex - b.taskIndex);
  }

  async deleteCheckpoints(jobId: bigint, taskIndices: readonly number[]): Promise<number> {
    const list = this.checkpoints.get(jobId) ?? [];
    const doomed = new Set(taskIndices);
    const kept = list.filter((checkpoint) => !doomed.has(checkpoint.taskIndex));
    this.checkpoints.set(jobId, kept);
    return list.length - kept.length;
  }

  private job(jobId: bigint): JobRow {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw notFound("job not found");
    return job;
  }

  private transition(job: JobRow, to: JobState, by: TransitionActor = "engine"): void {
    if (!canTransition(job.state, to, by)) {
      throw failedPrecondition(`job in state ${job.state} cannot move to ${to}`);
    }
    const from = job.state;
    job.state = to;
    job.updatedAt = this.now();
    if (isTerminal(to)) {
      job.endedAt = job.updatedAt;
    } else if (isTerminal(from)) {
      // Leaving a terminal state (an operator's retry): the row looks like any Running job's, as in MariaDB.
      job.endedAt = undefined;
      job.errorMessage = undefined;
      job.outputs = undefined;
    }
  }
}
