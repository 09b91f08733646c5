/**
 * An execution manager that behaves like Spider's towards storage (spec §4.4,
 * §4.5, §9): registers and heartbeats, tracks the newest session it has seen,
 * drops assignments from older sessions, registers a task instance with the
 * assignment's session, runs the deterministic task function of the oracle (or
 * an injected failure), and reports the outcome once, fire-and-forget. Its
 * reactions to statuses are Spider's: NOT_FOUND → refresh the session and drop,
 * FAILED_PRECONDITION → drop, UNAVAILABLE → retry, anything else on
 * registration → the execution manager would exit (recorded as a protocol error).
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { decodeWireFrame, encodeWireFrame } from "../../src/core/wire-frame.ts";
import { runTaskFunction } from "./oracle.ts";
import { retriable, type Assignment, type SimulatedScheduler } from "./simulated-scheduler.ts";
import { connectStorageAt, type StorageAddress } from "./failover-storage-clients.ts";
import { statusCode, type StorageClients } from "./storage-clients.ts";

export type TaskKey = string; // "jobId/index" | "jobId/commit" | "jobId/cleanup"

export function taskKey(jobId: bigint, taskId: Assignment["taskId"]): TaskKey {
  const kind = taskId.kind;
  return `${jobId}/${kind.case === "index" ? String(kind.value) : kind.case}`;
}

export interface TaskContext {
  readonly jobId: bigint;
  readonly key: TaskKey;
  readonly taskFunc: string;
  /** How many times any simulated EM has started this task before (0 on the first run). */
  readonly attempt: number;
  readonly emId: bigint;
}

export type TaskOutcome =
  | { readonly kind: "succeed"; readonly delayMs?: number; readonly salt?: string }
  | { readonly kind: "fail"; readonly message: string; readonly delayMs?: number }
  | { readonly kind: "malformed"; readonly delayMs?: number }
  /** Never report (a lost instance); the storage side must recover it. */
  | { readonly kind: "vanish" };

export type Behaviour = (context: TaskContext) => TaskOutcome;

export const ALWAYS_SUCCEED: Behaviour = () => ({ kind: "succeed" });

/** Shared across every simulated EM of a test: what ran, how often. */
export class ExecutionLog {
  readonly starts = new Map<TaskKey, number>();
  readonly successesReported = new Map<TaskKey, number>();
  readonly protocolErrors: string[] = [];
  registrations = 0;
  staleDrops = 0;
  preconditionDrops = 0;
  reportErrors = 0;

  attemptOf(key: TaskKey): number {
    return this.starts.get(key) ?? 0;
  }

  /** Executions beyond the first, over every task. */
  get repeatedExecutions(): number {
    let total = 0;
    for (const count of this.starts.values()) total += Math.max(0, count - 1);
    return total;
  }
}

export interface SimulatedExecutionManagerOptions {
  readonly heartbeatMs?: number;
  /** Tasks run at once by this EM. */
  readonly concurrency?: number;
  readonly behaviour?: Behaviour;
  readonly log?: ExecutionLog;
}

export class SimulatedExecutionManager {
  readonly clients: StorageClients;
  readonly log: ExecutionLog;
  emId = 0n;
  session = 0n;
  dead = false;
  readonly #scheduler: SimulatedScheduler;
  readonly #options: Required<Omit<SimulatedExecutionManagerOptions, "log">>;
  readonly #abort = new AbortController();
  #workers: Promise<void>[] = [];
  #heartbeat: Promise<void> | undefined;
  readonly #inflightReports = new Set<Promise<void>>();

  constructor(address: StorageAddress, scheduler: SimulatedScheduler, options: SimulatedExecutionManagerOptions = {}) {
    this.clients = connectStorageAt(address);
    this.#scheduler = scheduler;
    this.log = options.log ?? new ExecutionLog();
    this.#options = { heartbeatMs: 200, concurrency: 1, behaviour: ALWAYS_SUCCEED, ...options };
  }

  async start(): Promise<void> {
    for (;;) {
      try {
        const response = await this.clients.liveness.registerExecutionManager({ ipAddress: "127.0.0.1" }, { deadlineMs: 5_000 });
        this.emId = response.registration!.executionManagerId;
        this.#observeSession(response.registration!.sessionId);
        break;
      } catch (error) {
        if (!retriable(error)) throw error;
        await sleep(50);
      }
    }
    this.#heartbeat = this.#heartbeatLoop();
    this.#workers = Array.from({ length: this.#options.concurrency }, () => this.#workLoop());
  }

  /** Stops heartbeating: storage will declare this EM dead after its cutoff. */
  async stop(options: { waitForReports?: boolean } = {}): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#workers, this.#heartbeat]);
    if (options.waitForReports !== false) await Promise.allSettled([...this.#inflightReports]);
    this.clients.close();
  }

  async heartbeatNow(): Promise<void> {
    try {
      const response = await this.clients.liveness.updateExecutionManagerHeartbeat({ executionManagerId: this.emId }, { deadlineMs: 5_000 });
      this.#observeSession(response.sessionId);
    } catch (error) {
      const code = statusCode(error);
      if (code === grpc.status.FAILED_PRECONDITION || code === grpc.status.INVALID_ARGUMENT) {
        // Spider's EM shuts down when told it is dead or illegal.
        this.dead = true;
        this.#abort.abort();
      }
    }
  }

  #observeSession(session: bigint): void {
    if (session > this.session) this.session = session;
  }

  async #heartbeatLoop(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      await this.heartbeatNow();
      await sleep(this.#options.heartbeatMs);
    }
  }

  async #workLoop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const assignment = await this.#scheduler.next(signal);
      if (!assignment) return;
      if (assignment.sessionId < this.session) {
        this.log.staleDrops++;
        continue;
      }
      if (assignment.sessionId > this.session) await this.heartbeatNow();
      await this.#run(assignment);
    }
  }

  async #register(assignment: Assignment) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.clients.tasks.registerTaskInstance(
          { jobId: assignment.jobId, taskId: assignment.taskId, executionManagerId: this.emId, sessionId: assignment.sessionId },
          { deadlineMs: 10_000 },
        );
      } catch (error) {
        const code = statusCode(error);
        if (code === grpc.status.NOT_FOUND) {
          this.log.staleDrops++;
          await this.heartbeatNow();
          return undefined;
        }
        if (code === grpc.status.FAILED_PRECONDITION) {
          this.log.preconditionDrops++;
          return undefined;
        }
        if (retriable(error) && attempt < 100 && !this.#abort.signal.aborted) {
          await sleep(50);
          continue;
        }
        this.log.protocolErrors.push(`RegisterTaskInstance ${taskKey(assignment.jobId, assignment.taskId)}: ${(error as Error).message}`);
        return undefined;
      }
    }
  }

  async #run(assignment: Assignment): Promise<void> {
    const response = await this.#register(assignment);
    if (!response) return;
    this.log.registrations++;
    const context = response.executionContext!;
    const key = taskKey(assignment.jobId, assignment.taskId);
    const attempt = this.log.attemptOf(key);
    this.log.starts.set(key, attempt + 1);
    const outcome = this.#options.behaviour({ jobId: assignment.jobId, key, taskFunc: context.tdlContext?.taskFunc ?? "", attempt, emId: this.emId });
    if (outcome.kind === "vanish") return;
    if (outcome.delayMs) {
      await abortableSleep(outcome.delayMs, this.#abort.signal);
      if (this.#abort.signal.aborted) return; // stopped mid-task: the outcome is never reported
    }

    const base = {
      jobId: assignment.jobId,
      taskId: assignment.taskId,
      taskInstanceId: context.taskInstanceId,
      executionManagerId: this.emId,
      sessionId: assignment.sessionId,
    };
    let report: Promise<unknown>;
    if (outcome.kind === "fail") {
      report = this.clients.tasks.reportTaskFailure({ ...base, errorMessage: outcome.message }, { deadlineMs: 10_000 });
    } else if (outcome.kind === "malformed") {
      report = this.clients.tasks.reportTaskSuccess({ ...base, serializedOutputs: new Uint8Array([0xff, 0xff]) }, { deadlineMs: 10_000 });
    } else {
      let outputs = new Uint8Array();
      if (assignment.taskId.kind.case === "index") {
        const inputs = decodeWireFrame(context.serializedTaskIo);
        const outputCount = outputCountOf(context.tdlContext?.taskFunc ?? "");
        outputs = encodeWireFrame(runTaskFunction(context.tdlContext?.taskFunc ?? "", inputs, outputCount, outcome.salt));
      }
      report = this.clients.tasks.reportTaskSuccess({ ...base, serializedOutputs: outputs }, { deadlineMs: 10_000 });
      report.then(() => this.log.successesReported.set(key, (this.log.successesReported.get(key) ?? 0) + 1), () => undefined);
    }
    // Fire-and-forget, as Spider's EM: the outcome is sent once and errors are only logged.
    const tracked = report.then(
      () => undefined,
      () => {
        this.log.reportErrors++;
      },
    );
    this.#inflightReports.add(tracked);
    void tracked.finally(() => this.#inflightReports.delete(tracked));
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The simulated tasks name their output count in their function name
 * ("fn:N" → N outputs), because Spider's execution context does not carry the
 * task's declared outputs; see test graphs built with `simTaskFunc`.
 */
export function outputCountOf(taskFunc: string): number {
  const match = /:(\d+)$/.exec(taskFunc);
  return match ? Number(match[1]) : 1;
}

export function simTaskFunc(name: string, outputCount: number): string {
  return `${name}:${outputCount}`;
}
