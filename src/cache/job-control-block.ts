/**
 * The job control block (JCB): one cached job — its state, its tasks' control
 * blocks, its intermediate data — and every operation that changes them
 * (spec §3, §4.1, with DECISIONS D4, D6, D7 and every fatal path of spec §8
 * turned into an ordinary error).
 *
 * This file is the job's state machine. What it keeps is in its own files:
 * the per-task state in typed arrays (task-table.ts, no object per task), the
 * payloads (job-payloads.ts), the live instances (job-instances.ts), and what
 * an unsettled job waits to write (pending-transition.ts).
 *
 * Consistency: every operation that changes the job runs under the JCB's
 * mutex; a job transition is written to the store (a transaction under a row
 * lock) BEFORE memory changes, while the mutex is held, so two outcomes for
 * one task never both win and a report racing a cancel ends consistently.
 *
 * A failed write is judged once (core/errors.ts classifyWriteFailure):
 * - unreachable database (D6, amended): the report is accepted (OK) and its
 *   result kept; the job is "unsettled" — its task is not dispatched again,
 *   and the engine's JobReconciler writes the result when the database is
 *   back. When the kept results are over their byte bound, the result is
 *   dropped, the task re-enqueued without consuming a retry and the report
 *   answered UNAVAILABLE (D6 as first written);
 * - unknown outcome (connection lost during COMMIT): the report is accepted
 *   and the job unsettled with the result kept; before it acts on anything
 *   it re-writes (expecting the state it came from) or re-reads the row and
 *   follows the database, state and outputs alike (issue #16 B). A client
 *   call (StartJob, CancelJob) whose outcome is unknown answers INTERNAL (D5)
 *   and leaves the job unsettled the same way;
 * - refused (the database is in another state): the row is read and followed;
 * - will repeat (a value beyond the server's limits): the task's attempt
 *   fails (a retry is consumed; the job fails when none is left), with a
 *   message naming the limit. Limits known up front (max_allowed_packet) are
 *   checked before writing; an over-long error message is cut to fit.
 * Every store transition names the state it moves from, so the database
 * refuses a move from a state it is not in.
 */
import {
  classifyWriteFailure,
  failedPrecondition,
  internal,
  invalidArgument,
  isStorageError,
  StorageError,
  unavailable,
} from "../core/errors.ts";
import { cancelTarget, isTerminal, type JobState } from "../core/job-state.ts";
import type { TaskGraph, TdlContext, TimeoutPolicy } from "../core/task-graph.ts";
import { decodeWireFrame } from "../core/wire-frame.ts";
import type { EvictionCause, InstanceHost, InstanceRecord } from "../instances/instance-record.ts";
import { CLEANUP_KEY, COMMIT_KEY, taskIdOfKey } from "../core/task-key.ts";
import type { QueueSubject } from "../queue/queue-subject.ts";
import { AsyncMutex } from "./async-mutex.ts";
import { MAX_ERROR_MESSAGE_BYTES, type JobOutcome } from "../db/job-store.ts";
import type { Reconcilable, ReconcileResult } from "./job-reconciler.ts";
import { JobInstances } from "./job-instances.ts";
import { JobPayloads } from "./job-payloads.ts";
import { ownedBytes } from "./owned-bytes.ts";
import { Settlement, type PendingTransition } from "./pending-transition.ts";
import { taskSnapshots, taskStateCounts, type TaskSnapshot } from "./task-snapshots.ts";
import { truncateMessage } from "./truncate-message.ts";
import type { JobEngine } from "./job-engine.ts";
import { formatTaskId } from "../core/ids.ts";
import {
  isTaskTerminal,
  TASK_CANCELLED,
  TASK_FAILED,
  TASK_PENDING,
  TASK_READY,
  TASK_RUNNING,
  TASK_SUCCEEDED,
  taskStateName,
  type TaskStateName,
} from "./task-state.ts";
import { TaskTable } from "./task-table.ts";

/** What RegisterTaskInstance answers (spec §1.2 ExecutionContext). */
export interface ExecutionContext {
  readonly taskInstanceId: bigint;
  readonly tdlContext: TdlContext;
  readonly timeoutPolicy: TimeoutPolicy;
  /** Regular task: wire frame of its inputs; commit: job outputs (SerializedTaskOutputs raw); cleanup: empty. */
  readonly serializedTaskIo: Uint8Array;
}

export interface JobControlBlockInit {
  readonly jobId: bigint;
  readonly resourceGroupId: bigint;
  readonly graph: TaskGraph;
  /** The job inputs, in graph-input order. */
  readonly inputs: readonly Uint8Array[];
  readonly engine: JobEngine;
}

const EMPTY = new Uint8Array(0);

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** FAILED_PRECONDITION with Spider's "cache stale" wording. */
function stale(text: string): StorageError {
  return failedPrecondition(`cache stale: ${text}`);
}

export class JobControlBlock implements QueueSubject, InstanceHost, Reconcilable {
  readonly jobId: bigint;
  readonly resourceGroupId: bigint;
  readonly graph: TaskGraph;
  private readonly engine: JobEngine;
  private jobState: JobState = "Ready";
  private readonly tasks: TaskTable;
  private readonly payloads: JobPayloads;
  private readonly instances: JobInstances;
  private readonly settlement: Settlement;
  /** Regular tasks not Succeeded yet: the last one's success commits the job. */
  private incomplete: number;
  private readonly mutex = new AsyncMutex();
  /** An operator is replacing this block (reload-job.ts): it takes no more reports or registrations. */
  private retired = false;
  /** Bytes last reported to the engine's payload budget; -1 once the block left the cache. */
  private accounted = 0;
  /** When the job became terminal (wall-clock ms), for inspection. */
  terminalAt: number | undefined;

  constructor(init: JobControlBlockInit) {
    const { graph } = init;
    if (init.inputs.length !== graph.graphInputCount) {
      throw internal(`job ${init.jobId}: ${init.inputs.length} inputs for a graph with ${graph.graphInputCount}`);
    }
    this.jobId = init.jobId;
    this.resourceGroupId = init.resourceGroupId;
    this.graph = graph;
    this.engine = init.engine;
    this.tasks = new TaskTable(graph);
    this.payloads = new JobPayloads(init.jobId, graph, init.inputs);
    this.instances = new JobInstances(this.tasks, init.engine.pool);
    this.settlement = new Settlement(this, init.engine);
    this.incomplete = graph.tasks.length;
    this.account();
  }

  /**
   * Rebuilds a JCB for a job the database holds in `state` (restart recovery;
   * nothing is written and nothing enqueued — the refill does that).
   * CommitReady needs the stored job outputs.
   */
  static recovered(
    init: JobControlBlockInit,
    state: "Ready" | "Running" | "CommitReady" | "CleanupReady",
    storedOutputs?: Uint8Array,
  ): JobControlBlock {
    const jcb = new JobControlBlock(init);
    jcb.jobState = state;
    if (state === "CommitReady") {
      if (!jcb.tasks.hasCommit) throw internal(`job ${init.jobId} is CommitReady but has no commit task`);
      if (storedOutputs === undefined) throw internal(`job ${init.jobId} is CommitReady without stored outputs`);
      jcb.tasks.setAllRegular(TASK_SUCCEEDED);
      jcb.incomplete = 0;
      jcb.payloads.commit(storedOutputs);
    } else if (state === "CleanupReady") {
      if (!jcb.tasks.hasCleanup) throw internal(`job ${init.jobId} is CleanupReady but has no cleanup task`);
      jcb.tasks.cancelUnfinished(false);
      jcb.payloads.dropTaskData();
    }
    jcb.account();
    return jcb;
  }

  /**
   * Recovery: marks a regular task Succeeded from its checkpoint (its outputs
   * wire frame) and releases its children. Only for a recovered Running job,
   * in index order, for tasks whose parents all succeeded already. Returns
   * false (and changes nothing) when it does not apply — including for the
   * last incomplete task, which then simply runs again so the job's outputs
   * are committed by the normal path.
   */
  restoreSucceededTask(index: number, outputsFrame: Uint8Array): boolean {
    if (this.jobState !== "Running" || index < 0 || index >= this.tasks.count) return false;
    if (this.tasks.states[index] !== TASK_READY || this.incomplete <= 1) return false;
    const expected = this.graph.tasks[index]!.outputCount;
    let outputs: Uint8Array[];
    try {
      outputs = decodeWireFrame(outputsFrame, "task checkpoint", {
        count: expected,
        mismatch: (count) => internal(`task checkpoint: ${count} output(s), the task declares ${expected}`),
      });
    } catch {
      return false;
    }
    this.payloads.writeOutputs(index, outputs);
    this.tasks.states[index] = TASK_SUCCEEDED;
    this.incomplete--;
    this.releaseChildren(index, false);
    this.account();
    return true;
  }

  get state(): JobState {
    return this.jobState;
  }

  get hasCommitTask(): boolean {
    return this.tasks.hasCommit;
  }

  get hasCleanupTask(): boolean {
    return this.tasks.hasCleanup;
  }

  get taskCount(): number {
    return this.tasks.count;
  }

  get incompleteTaskCount(): number {
    return this.incomplete;
  }

  get liveInstanceCount(): number {
    return this.instances.size;
  }

  /** Bytes of payload this job holds in memory: inputs and task outputs while Running, then the job outputs. */
  get heldPayloadBytes(): number {
    return this.payloads.held;
  }

  /** Bytes of the buffers behind the held payloads: equal to {@link heldPayloadBytes} when nothing pins more. */
  retainedPayloadBytes(): number {
    return this.payloads.retained();
  }

  // ---------------------------------------------------------------------------
  // Job operations

  /** Ready → Running; enqueues every task without parents. FAILED_PRECONDITION unless Ready. */
  start(): Promise<JobState> {
    return this.run<JobState>(async () => {
      await this.settle();
      if (this.jobState !== "Ready") throw failedPrecondition(`job in state ${this.jobState}, expected Ready`);
      try {
        await this.engine.store.startJob(this.jobId);
      } catch (error) {
        await this.followAfter(error);
        if (this.state === "Ready") throw error;
        return this.state; // the database knew better (followed)
      }
      this.becomeRunning();
      return "Running";
    });
  }

  /**
   * Cancels (D4/D5): Ready → Cancelled; Running/CommitReady → CleanupReady
   * (with a cleanup task, which is then enqueued) or Cancelled. Already
   * CleanupReady or terminal: answers the current state (idempotent).
   */
  cancel(): Promise<JobState> {
    return this.run<JobState>(async () => {
      await this.settle();
      const from = this.jobState;
      const target = cancelTarget(from, this.tasks.hasCleanup);
      if (target === undefined) return from;
      let stored: JobState;
      try {
        stored = await this.engine.store.cancelJob(this.jobId, this.tasks.hasCleanup);
      } catch (error) {
        await this.followAfter(error);
        if (this.state === from) throw error;
        return this.state;
      }
      if (stored !== target) {
        // The database's cancel is idempotent: it answered a state it already had. Follow it, outputs included.
        this.engine.logger.error({ jobId: this.jobId, cached: from, stored }, "cancel: the database had another state");
        this.settlement.markUnsettled();
        await this.settle();
        return this.jobState;
      }
      this.follow({ state: target, outputs: undefined });
      return target;
    });
  }

  /** The committed job outputs (SerializedTaskOutputs raw), if memory has them. FAILED_PRECONDITION unless Succeeded. */
  outputs(): Uint8Array {
    const outputs = this.payloads.jobOutputs;
    if (this.jobState !== "Succeeded" || outputs === null) {
      throw failedPrecondition(`job in state ${this.jobState}, expected Succeeded`);
    }
    return outputs;
  }

  /** GetJobOutputs: the database's state once it answers; outputs from memory, else from the database. */
  async readOutputs(): Promise<Uint8Array> {
    const state = await this.currentState();
    if (state !== "Succeeded") throw failedPrecondition(`job in state ${state}, expected Succeeded`);
    return this.payloads.jobOutputs ?? this.engine.store.getJobOutputs(this.jobId);
  }

  /**
   * The job's state — for an unsettled job, the database's once it answers.
   * While it does not: a job whose kept result was certainly not written
   * answers its cached state (the database's too); one whose outcome is
   * unknown answers the error (UNAVAILABLE).
   */
  async currentState(): Promise<JobState> {
    if (!this.settlement.unsettled) return this.jobState;
    try {
      await this.run(() => this.settle());
    } catch (error) {
      if (this.settlement.certainlyNotWritten) return this.jobState;
      throw error;
    }
    return this.jobState;
  }

  /**
   * Stops this block before an operator replaces it: once any operation in
   * progress is done, it refuses every task-instance call (stale) and
   * queues nothing more (no checkpoint). `unretire` undoes it when the
   * reload fails.
   */
  retire(): Promise<void> {
    return this.run(() => {
      this.retired = true;
    });
  }

  unretire(): void {
    this.retired = false;
    // Polls dropped the entries of tasks while the block was retired: queue them again.
    this.refill();
  }

  /** The block left the cache: its payloads no longer count against the engine's budget. */
  detach(): void {
    if (this.accounted > 0) this.engine.payloadBudget?.add(-this.accounted);
    this.accounted = -1;
  }

  /** Whether the database has not confirmed this job's cached state yet. */
  get isUnsettled(): boolean {
    return this.settlement.unsettled;
  }

  /** The reconciler's call: tries to settle. */
  async reconcile(): Promise<ReconcileResult> {
    try {
      await this.run(() => this.settle());
    } catch (error) {
      if (isStorageError(error, "unavailable")) return "unreachable";
      if (isStorageError(error) && error.outcomeUnknown) return "unsettled";
      throw error;
    }
    return this.settlement.unsettled ? "unsettled" : "settled";
  }

  // ---------------------------------------------------------------------------
  // Task-instance operations (the execution manager has been checked already)

  /** Registers an instance of the task (spec §3.3 Register). */
  registerInstance(key: number, executionManagerId: bigint): Promise<ExecutionContext> {
    return this.run(async () => {
      await this.settle();
      this.assertJobAccepts(key);
      const pool = this.engine.pool;
      pool.assertNotDead(executionManagerId);
      const tasks = this.tasks;
      const slot = tasks.slotOf(key);
      const state = tasks.stateAt(slot);
      if (isTaskTerminal(state)) throw stale(`task already in terminal state ${taskStateName(state)}`);
      if (state === TASK_PENDING) throw stale(`task ${key} is not ready: its parents have not all succeeded`);
      if (tasks.live[slot]! >= tasks.maxInstancesOf(key)) {
        throw stale("the number of living task instances has reached the upper limit");
      }
      const descriptor = tasks.descriptorOf(key);
      const policy = descriptor.executionPolicy;
      const serializedTaskIo =
        key >= 0 ? this.payloads.readInputs(key) : key === COMMIT_KEY ? (this.payloads.jobOutputs ?? EMPTY) : EMPTY;
      const id = pool.allocateId();
      tasks.states[slot] = TASK_RUNNING;
      this.instances.add(pool.add(id, this, key, executionManagerId, policy.timeoutPolicy.softTimeoutMs));
      return {
        taskInstanceId: id,
        tdlContext: descriptor.tdlContext,
        timeoutPolicy: policy.timeoutPolicy,
        serializedTaskIo,
      };
    });
  }

  /**
   * An instance succeeded (spec §3.3 Succeed). For a regular task the outputs
   * must be a wire frame with the declared count; otherwise the instance
   * counts as failed (a retry is consumed, the task re-enqueued or the job
   * failed) and INVALID_ARGUMENT is thrown. Returns the job state after.
   */
  succeedInstance(key: number, instanceId: bigint, serializedOutputs: Uint8Array): Promise<JobState> {
    return this.run(async () => {
      await this.settleBeforeReport(key, instanceId);
      this.assertJobAccepts(key);
      this.takeInstance(key, instanceId);
      const state = this.tasks.stateAt(this.tasks.slotOf(key));
      if (isTaskTerminal(state)) throw stale(`task already in terminal state ${taskStateName(state)}`);
      if (key === COMMIT_KEY) {
        return this.succeedTermination(key, "Succeeded", () => this.engine.store.succeedCommittedJob(this.jobId));
      }
      if (key === CLEANUP_KEY) {
        return this.succeedTermination(key, "Cancelled", () => this.engine.store.finishCleanup(this.jobId));
      }
      let outputs: Uint8Array[];
      try {
        // The count is checked from the header, so a frame declaring millions of outputs builds no view.
        const expected = this.graph.tasks[key]!.outputCount;
        outputs = decodeWireFrame(serializedOutputs, "task outputs", {
          count: expected,
          mismatch: (count) => invalidArgument(`task outputs: task ${key} declares ${expected} output(s), got ${count}`),
        });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        await this.applyFailure(key, `invalid task outputs reported: ${reason}`);
        throw invalidArgument(`deserialization error: ${reason}`, error);
      }
      let bytes = 0;
      for (const output of outputs) bytes += output.length;
      const limit = this.engine.maxPayloadBytesPerJob;
      if (this.payloads.taskDataBytes + bytes > limit) {
        // Running it again would produce the same outputs: the job fails now, whatever its retries.
        const reason = `task ${key} outputs (${bytes} bytes) would take the job's data above the limit of ${limit} bytes (runtime.limits.max_payload_bytes_per_job)`;
        await this.applyFailure(key, reason, true);
        throw invalidArgument(reason);
      }
      const budget = this.engine.payloadBudget;
      if (budget !== undefined && !budget.fits(bytes)) {
        // Service-wide and temporary: the result is not kept, the task runs again later without consuming a retry.
        const error = unavailable(budget.message(`task ${key} outputs`, bytes));
        this.unapplied(key, error);
        throw error;
      }
      if (this.incomplete === 1) return this.succeedLastTask(key, outputs, serializedOutputs);
      this.payloads.writeOutputs(key, outputs);
      this.tasks.states[key] = TASK_SUCCEEDED;
      this.incomplete--;
      this.instances.releaseTask(key);
      this.notifySucceeded(key, serializedOutputs);
      this.releaseChildren(key, true);
      return this.jobState;
    });
  }

  /**
   * An instance failed (spec §3.3 Fail). Returns the job state after. With
   * `final` (the attempt could never succeed: every retry would fail the same
   * way), the job fails now, whatever retries the task has left.
   */
  failInstance(key: number, instanceId: bigint, errorMessage: string, options: { readonly final?: boolean } = {}): Promise<JobState> {
    return this.run(async () => {
      await this.settleBeforeReport(key, instanceId);
      this.assertJobAccepts(key);
      this.takeInstance(key, instanceId);
      const state = this.tasks.stateAt(this.tasks.slotOf(key));
      if (isTaskTerminal(state)) throw stale(`task already in terminal state ${taskStateName(state)}`);
      return this.applyFailure(key, errorMessage, options.final === true);
    });
  }

  // ---------------------------------------------------------------------------
  // QueueSubject

  isQueued(key: number): boolean {
    return this.tasks.queued[this.tasks.slotOf(key)] === 1;
  }

  setQueued(key: number, queued: boolean): void {
    this.tasks.queued[this.tasks.slotOf(key)] = queued ? 1 : 0;
  }

  canAcceptInstance(key: number): boolean {
    if (this.settlement.unsettled || this.jobErrorFor(key) !== undefined) return false;
    const tasks = this.tasks;
    const slot = tasks.slotOf(key);
    const state = tasks.states[slot];
    return state === TASK_READY || (state === TASK_RUNNING && tasks.live[slot]! < tasks.maxInstancesOf(key));
  }

  // ---------------------------------------------------------------------------
  // InstanceHost (called by the pool, synchronously, without the mutex: these
  // only touch memory, and every awaited section has already taken its instance)

  evictInstance(record: InstanceRecord, cause: EvictionCause = "dead_execution_manager"): void {
    if (!this.instances.forget(record)) return;
    const key = record.key;
    this.readyIfIdle(key);
    if (this.canAcceptInstance(key)) {
      this.engine.queue.enqueue(this, key);
      this.engine.onTaskRequeued?.(this.jobId, key, cause);
    }
  }

  softTimeout(record: InstanceRecord): void {
    if (this.instances.has(record) && this.canAcceptInstance(record.key)) {
      this.engine.queue.enqueue(this, record.key);
      this.engine.onTaskRequeued?.(this.jobId, record.key, "soft_timeout");
    }
  }

  // ---------------------------------------------------------------------------
  // Refill and inspection

  /** Enqueues whatever can take an instance and has no entry (DECISIONS D7). Returns how many. */
  refill(): number {
    const queue = this.engine.queue;
    const tasks = this.tasks;
    let added = 0;
    switch (this.jobState) {
      case "Running":
        for (let i = 0; i < tasks.count; i++) {
          if (tasks.states[i] === TASK_READY && queue.enqueue(this, i)) added++;
        }
        break;
      case "CommitReady":
        if (tasks.hasCommit && tasks.states[tasks.slotOf(COMMIT_KEY)] === TASK_READY && queue.enqueue(this, COMMIT_KEY)) added++;
        break;
      case "CleanupReady":
        if (tasks.hasCleanup && tasks.states[tasks.slotOf(CLEANUP_KEY)] === TASK_READY && queue.enqueue(this, CLEANUP_KEY)) added++;
        break;
      default:
        break;
    }
    return added;
  }

  /** Counts of regular tasks per state. */
  taskStateCounts(): Record<TaskStateName, number> {
    return taskStateCounts(this.tasks);
  }

  /** Every task (regular, then commit, then cleanup) with its state. */
  taskSnapshots(): TaskSnapshot[] {
    return taskSnapshots(this.tasks);
  }

  /** The live instances of this job. */
  liveInstances(): InstanceRecord[] {
    return this.instances.list();
  }

  // ---------------------------------------------------------------------------
  // Internals

  /** The guard matching the task kind (spec §3.1 cache-level guards), as an error or undefined. */
  private jobErrorFor(key: number): StorageError | undefined {
    if (this.retired) return stale("the job is being reloaded by an operator");
    const state = this.jobState;
    if (key >= 0) {
      if (state === "Running") return undefined;
      if (state === "Ready") return stale("job not started");
      if (isTerminal(state)) return stale(`job already terminated in state ${state}`);
      return stale("job no longer running");
    }
    if (key === COMMIT_KEY) {
      if (!this.tasks.hasCommit) return stale("job has no commit task");
      if (state === "CommitReady") return undefined;
      if (isTerminal(state)) return stale(`job already terminated in state ${state}`);
      if (state === "CleanupReady") return stale("job no longer in the commit-ready state");
      return stale(`job not in the commit-ready state (state ${state})`);
    }
    if (!this.tasks.hasCleanup) return stale("job has no cleanup task");
    if (state === "CleanupReady") return undefined;
    if (isTerminal(state)) return stale(`job already terminated in state ${state}`);
    return stale(`job not in the cleanup-ready state (state ${state})`);
  }

  private assertJobAccepts(key: number): void {
    if (!this.tasks.isKey(key)) {
      throw failedPrecondition(`task index ${key} out of range: job ${this.jobId} has ${this.tasks.count} task(s)`);
    }
    const error = this.jobErrorFor(key);
    if (error) throw error;
  }

  /** Validates and removes the reporting instance. */
  private takeInstance(key: number, instanceId: bigint): void {
    const record = this.engine.pool.get(instanceId);
    if (record === undefined || record.host !== this || record.key !== key) {
      throw stale("the task instance ID is not valid");
    }
    this.instances.release(record);
  }

  /** Non-terminal regular tasks and the commit task (and the cleanup task when `includeCleanup`) → Cancelled. */
  private cancelTasks(includeCleanup: boolean): void {
    this.tasks.cancelUnfinished(includeCleanup);
    this.instances.releaseAll();
  }

  private async succeedLastTask(key: number, outputs: Uint8Array[], reported: Uint8Array): Promise<JobState> {
    this.payloads.writeOutputs(key, outputs); // tentative until the database has the job outputs
    const encoded = this.payloads.encodeJobOutputs();
    const frame = ownedBytes(reported); // may be kept: must not pin the request
    const hasCommit = this.tasks.hasCommit;
    const target: JobState = hasCommit ? "CommitReady" : "Succeeded";
    const store = this.engine.store;
    return this.report({
      from: "Running",
      target,
      key,
      bytes: encoded.length + frame.length,
      unknown: false,
      write: async () => {
        const limits = await store.writeLimits();
        if (encoded.length > limits.maxOutputsBytes) {
          throw invalidArgument(
            `task ${key}: the job outputs (${encoded.length} bytes) cannot be stored: ${limits.source} carries at most ${limits.maxOutputsBytes} bytes of outputs in one statement`,
          );
        }
        await store.commitJobOutputs(this.jobId, encoded, hasCommit);
      },
      apply: () => {
        this.tasks.states[key] = TASK_SUCCEEDED;
        this.incomplete = 0;
        this.instances.releaseTask(key);
        this.notifySucceeded(key, frame, true);
        this.payloads.commit(encoded);
        this.jobState = target;
        if (hasCommit) this.engine.queue.enqueue(this, COMMIT_KEY);
        else this.becameTerminal();
      },
      undo: () => this.payloads.clearOutputs(key),
    });
  }

  private succeedTermination(key: number, target: JobState, write: () => Promise<void>): Promise<JobState> {
    return this.report({
      from: this.jobState,
      target,
      key,
      bytes: 0,
      unknown: false,
      write,
      apply: () => {
        this.tasks.states[this.tasks.slotOf(key)] = TASK_SUCCEEDED;
        this.instances.releaseAll();
        this.jobState = target;
        this.becameTerminal();
      },
      undo: () => {},
    });
  }

  /** One failed instance (already removed): retry if the budget allows, else fail the job. */
  private async applyFailure(key: number, errorMessage: string, final = false): Promise<JobState> {
    const tasks = this.tasks;
    const slot = tasks.slotOf(key);
    const retries = tasks.retriesLeft[slot]!;
    if (retries > 0 && !final) {
      tasks.retriesLeft[slot] = retries - 1;
      if (tasks.live[slot] === 0) tasks.states[slot] = TASK_READY;
      this.engine.queue.enqueue(this, key);
      this.engine.onTaskRequeued?.(this.jobId, key, "retry");
      return this.jobState;
    }
    const from = this.jobState;
    const store = this.engine.store;
    // Cut to the most any store keeps before it is held (a report may carry megabytes), then to this store's limit.
    const message = truncateMessage(errorMessage, MAX_ERROR_MESSAGE_BYTES);
    return this.report({
      from,
      target: "Failed",
      key,
      bytes: message.length * 2,
      unknown: false,
      write: async () => {
        const limits = await store.writeLimits();
        await store.failJob(this.jobId, truncateMessage(message, limits.maxErrorMessageBytes), from);
      },
      apply: () => {
        tasks.states[slot] = TASK_FAILED;
        this.cancelTasks(true);
        this.jobState = "Failed";
        this.payloads.dropTaskData();
        this.becameTerminal();
      },
      undo: () => {},
    });
  }

  /** Writes the job transition a report asked for, then applies it to memory; see the module comment for failures. */
  private async report(t: PendingTransition): Promise<JobState> {
    try {
      await t.write();
    } catch (error) {
      return this.reportNotWritten(t, error);
    }
    t.apply();
    return this.jobState;
  }

  private async reportNotWritten(t: PendingTransition, error: unknown): Promise<JobState> {
    switch (classifyWriteFailure(error)) {
      case "unreachable":
        this.engine.pool.noteDbUnavailable();
        if (this.settlement.keep(t, false)) {
          // Accepted: the result is kept and written when the database is back (the reconciler), as a regular
          // task's checkpoint is written after its success is answered (D9). The execution manager is done with it.
          this.engine.logger.warn(
            { err: error, jobId: this.jobId, task: formatTaskId(taskIdOfKey(t.key)), target: t.target },
            "database unreachable: the report's result is kept and will be written when it is back",
          );
          return this.jobState;
        }
        t.undo();
        this.unapplied(t.key, error);
        throw error;
      case "outcome_unknown":
        // Accepted too: kept until the database says whether it has it (written again, or followed).
        t.unknown = true;
        this.settlement.keep(t, true);
        await this.settle().catch(() => undefined);
        return this.jobState;
      case "refused":
        this.settlement.markUnsettled();
        try {
          await this.settle();
        } catch {
          t.undo();
          this.unapplied(t.key, error);
          throw error;
        }
        if (this.jobState !== t.from) return this.jobState;
        // The database still has `from` but refused: nothing to follow; the task runs again.
        t.undo();
        this.unapplied(t.key, error);
        throw error;
      case "will_repeat":
        return this.giveUp(t, error);
    }
  }

  /**
   * A transition that can never be written as it is (a value beyond the
   * server's limits): the task's attempt fails instead, consuming a retry
   * (the job fails when none is left). A Failed transition that cannot be
   * written is tried once more with a short message.
   */
  private async giveUp(t: PendingTransition, error: unknown): Promise<never> {
    t.undo();
    const reason = messageOf(error);
    const task = formatTaskId(taskIdOfKey(t.key));
    this.engine.logger.error({ err: error, jobId: this.jobId, task, target: t.target }, "job transition cannot be written: the task's attempt fails");
    if (t.target !== "Failed") {
      await this.applyFailure(t.key, `task ${task}: its result could not be stored: ${reason}`);
    } else {
      try {
        await this.engine.store.failJob(this.jobId, `task ${task} failed; its error message could not be stored: ${reason.slice(0, 1000)}`, t.from);
        t.apply();
      } catch (second) {
        this.unapplied(t.key, second);
      }
    }
    throw isStorageError(error, "invalid_argument") ? error : internal(`task ${task}: its result could not be stored: ${reason}`, error);
  }

  /**
   * Brings an unsettled job in line with the database: writes the kept
   * transition (expecting the state it came from), or reads the row and
   * follows it — state and outputs. Throws, leaving the job unsettled, while
   * the database cannot be reached. Called under the mutex, before acting.
   */
  private async settle(): Promise<void> {
    if (!this.settlement.unsettled) return;
    const t = this.settlement.pending;
    if (t !== null) {
      let written = true;
      try {
        await t.write();
      } catch (error) {
        written = false;
        const failure = classifyWriteFailure(error);
        if (failure === "unreachable") {
          this.engine.pool.noteDbUnavailable();
          throw error;
        }
        if (failure === "will_repeat") {
          // The kept result can never be written: its task's attempt fails instead; the caller goes on from there.
          this.settlement.markSettled();
          await this.giveUp(t, error).catch(() => undefined);
          this.refill();
          return;
        }
        if (failure === "outcome_unknown") t.unknown = true;
      }
      if (written) {
        this.settlement.markSettled();
        t.apply();
        this.refill();
        return;
      }
    }
    const outcome = await this.engine.store.getJobOutcome(this.jobId);
    if (t !== null) {
      if (outcome.state === t.target) {
        this.engine.logger.warn({ jobId: this.jobId, state: outcome.state }, "job transition was applied after all");
        this.settlement.markSettled();
        t.apply();
        this.refill();
        return;
      }
      if (outcome.state === t.from) throw unavailable(`job ${this.jobId}: the outcome of its last transition is not known yet; retry`);
      t.undo(); // the database moved elsewhere (a cancel, an operator): follow it
    }
    this.settlement.markSettled();
    this.follow(outcome);
    this.refill();
  }

  /**
   * A client operation's write failed: unreachable or will repeat → rethrow
   * (nothing changed); refused or unknown → read the row and follow it
   * (the job stays unsettled until that read succeeds; the error is rethrown
   * when it fails).
   */
  private async followAfter(error: unknown): Promise<void> {
    const failure = classifyWriteFailure(error);
    if (failure === "unreachable") this.engine.pool.noteDbUnavailable();
    if (failure === "unreachable" || failure === "will_repeat") throw error;
    this.settlement.markUnsettled();
    try {
      await this.settle();
    } catch {
      throw error;
    }
  }

  /** A report cannot be applied before the job settles: as in D6, its instance goes; its task is dispatched again once settled. */
  private async settleBeforeReport(key: number, instanceId: bigint): Promise<void> {
    try {
      await this.settle();
    } catch (error) {
      const record = this.engine.pool.get(instanceId);
      if (record !== undefined && record.host === this && record.key === key) {
        this.instances.release(record);
        if (this.settlement.pending?.key !== key) this.readyIfIdle(key);
      }
      throw error;
    }
  }

  /**
   * A report whose transition did not reach the database and is not kept:
   * its instance is already gone; give the task back to the queue without
   * consuming a retry (DECISIONS D6).
   */
  private unapplied(key: number, error: unknown): void {
    if (this.jobErrorFor(key) !== undefined) return;
    this.readyIfIdle(key);
    if (this.canAcceptInstance(key)) {
      this.engine.queue.enqueue(this, key);
      this.engine.onTaskRequeued?.(this.jobId, key, "unapplied_report");
    }
    this.engine.logger.warn(
      { err: error, jobId: this.jobId, task: formatTaskId(taskIdOfKey(key)) },
      "report not applied: the job transition could not be written; task re-enqueued without consuming a retry",
    );
  }

  private becomeRunning(): void {
    this.jobState = "Running";
    const queue = this.engine.queue;
    const tasks = this.tasks;
    for (let i = 0; i < tasks.count; i++) if (tasks.states[i] === TASK_READY) queue.enqueue(this, i);
  }

  /**
   * Memory takes the state the database holds (after an unknown outcome, a
   * refused write, or a cancel that found another state), with the stored
   * outputs for CommitReady and Succeeded. A move memory cannot make is
   * logged and left alone (the operator's `verify --repair` reloads the job).
   */
  private follow(outcome: JobOutcome): void {
    const stored = outcome.state;
    const cached = this.jobState;
    if (stored === cached) return;
    if (!isTerminal(cached)) {
      switch (stored) {
        case "Running":
          if (cached === "Ready") return this.becomeRunning();
          break;
        case "CommitReady":
          if (cached === "Running" && this.tasks.hasCommit && outcome.outputs !== undefined) {
            this.instances.releaseAll();
            this.tasks.setAllRegular(TASK_SUCCEEDED);
            this.incomplete = 0;
            this.payloads.commit(outcome.outputs);
            this.jobState = "CommitReady";
            this.engine.queue.enqueue(this, COMMIT_KEY);
            return;
          }
          break;
        case "CleanupReady":
          if (this.tasks.hasCleanup) {
            this.cancelTasks(false);
            this.jobState = "CleanupReady";
            this.payloads.dropTaskData();
            this.engine.queue.enqueue(this, CLEANUP_KEY);
            return;
          }
          break;
        case "Succeeded":
          if (outcome.outputs !== undefined) {
            const tasks = this.tasks;
            this.instances.releaseAll();
            tasks.setAllRegular(TASK_SUCCEEDED);
            tasks.states[tasks.slotOf(COMMIT_KEY)] = TASK_SUCCEEDED;
            const cleanup = tasks.slotOf(CLEANUP_KEY);
            if (!isTaskTerminal(tasks.states[cleanup]!)) tasks.states[cleanup] = TASK_CANCELLED;
            this.incomplete = 0;
            this.payloads.commit(outcome.outputs);
            this.jobState = "Succeeded";
            this.becameTerminal();
            return;
          }
          break;
        case "Failed":
        case "Cancelled":
          this.cancelTasks(true);
          this.jobState = stored;
          this.payloads.dropTaskData();
          this.becameTerminal();
          return;
        default:
          break;
      }
    }
    this.engine.logger.error({ jobId: this.jobId, cached, stored }, "the database has a job state the cache cannot follow");
  }

  /** Runs one operation under the mutex, then reports the held bytes' change to the budget. */
  private run<T>(operation: () => T | Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      try {
        return await operation();
      } finally {
        this.account();
      }
    });
  }

  private account(): void {
    if (this.accounted < 0) return; // detached
    const held = this.heldPayloadBytes;
    if (held !== this.accounted) this.engine.payloadBudget?.add(held - this.accounted);
    this.accounted = held;
  }

  private becameTerminal(): void {
    this.terminalAt = Date.now();
    this.engine.onJobTerminal(this.jobId, this.jobState);
  }

  private notifySucceeded(index: number, frame: Uint8Array, last = false): void {
    if (this.retired) return;
    try {
      this.engine.onTaskSucceeded(this.jobId, index, frame, last);
    } catch (error) {
      this.engine.logger.error({ err: error, jobId: this.jobId, task: index }, "task-succeeded hook failed");
    }
  }

  /** Decrements the children's unfinished-parent counters; the ones reaching 0 become Ready (and are enqueued). */
  private releaseChildren(index: number, enqueue: boolean): void {
    const children = this.graph.tasks[index]!.children;
    for (let c = 0; c < children.length; c++) {
      const child = children[c]!;
      const left = this.tasks.unfinishedParents[child]! - 1;
      this.tasks.unfinishedParents[child] = left;
      if (left === 0 && this.tasks.states[child] === TASK_PENDING) {
        this.tasks.states[child] = TASK_READY;
        if (enqueue) this.engine.queue.enqueue(this, child);
      }
    }
  }

  /** A Running task whose last instance is gone is Ready again. */
  private readyIfIdle(key: number): void {
    const slot = this.tasks.slotOf(key);
    if (this.tasks.live[slot] === 0 && this.tasks.states[slot] === TASK_RUNNING) this.tasks.states[slot] = TASK_READY;
  }
}
