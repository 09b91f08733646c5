/**
 * A scheduler that behaves like Spider's towards storage (spec §4.4, §9):
 * registers, long-polls the three lanes with a short wait, stamps each
 * assignment with the session the poll reported, and on a newer session drops
 * every assignment of the older one. Execution managers take assignments from
 * it in-process (Spider's scheduler serves them over its own gRPC service,
 * which storage never sees).
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import type { TaskId as ProtoTaskId } from "../../src/gen/common/common_pb.ts";
import { connectStorageAt, type StorageAddress } from "./failover-storage-clients.ts";
import { statusCode, type StorageClients } from "./storage-clients.ts";

export interface Assignment {
  readonly resourceGroupId: bigint;
  readonly jobId: bigint;
  readonly taskId: ProtoTaskId;
  readonly sessionId: bigint;
}

export interface SimulatedSchedulerOptions {
  readonly pollWaitMs?: number;
  readonly maxItems?: number;
  readonly host?: string;
  readonly port?: number;
}

type Lane = "pollReadyTasks" | "pollReadyCommitTasks" | "pollReadyCleanupTasks";
const LANES: readonly Lane[] = ["pollReadyTasks", "pollReadyCommitTasks", "pollReadyCleanupTasks"];

export class SimulatedScheduler {
  readonly clients: StorageClients;
  schedulerId = 0n;
  session = 0n;
  /** Assignments dropped because a newer session appeared. */
  droppedStale = 0;
  polled = 0;
  readonly errors: string[] = [];
  readonly #options: Required<SimulatedSchedulerOptions>;
  readonly #dispatch: Assignment[] = [];
  readonly #waiters: ((assignment: Assignment) => void)[] = [];
  #running = false;
  #loops: Promise<void>[] = [];

  constructor(address: StorageAddress, options: SimulatedSchedulerOptions = {}) {
    this.clients = connectStorageAt(address);
    this.#options = { pollWaitMs: 10, maxItems: 64, host: "127.0.0.1", port: 6000, ...options };
  }

  async start(): Promise<void> {
    this.#running = true;
    await this.register();
    this.#loops = LANES.map((lane) => this.#pollLoop(lane));
  }

  /** (Re-)registers, as a restarted scheduler does. */
  async register(): Promise<void> {
    for (;;) {
      try {
        const response = await this.clients.schedulers.registerScheduler({ host: this.#options.host, port: this.#options.port }, { deadlineMs: 5_000 });
        this.schedulerId = response.registration!.schedulerId;
        this.#observeSession(response.registration!.sessionId);
        return;
      } catch (error) {
        if (!retriable(error) || !this.#running) throw error;
        await sleep(50);
      }
    }
  }

  /** Next assignment, waiting for one; undefined once stopped or when the signal fires. */
  next(signal?: AbortSignal): Promise<Assignment | undefined> {
    const ready = this.#dispatch.shift();
    if (ready) return Promise.resolve(ready);
    if (!this.#running || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (assignment: Assignment | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(assignment);
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter as (a: Assignment) => void);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter as (a: Assignment) => void);
    });
  }

  get backlog(): number {
    return this.#dispatch.length;
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const waiter of this.#waiters.splice(0)) (waiter as (a: Assignment | undefined) => void)(undefined);
    await Promise.allSettled(this.#loops);
    this.clients.close();
  }

  #observeSession(session: bigint): void {
    if (session > this.session) {
      if (this.session !== 0n) {
        this.droppedStale += this.#dispatch.length;
        this.#dispatch.length = 0;
      }
      this.session = session;
    }
  }

  #push(assignment: Assignment): void {
    if (assignment.sessionId < this.session) {
      this.droppedStale++;
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(assignment);
    else this.#dispatch.push(assignment);
  }

  async #pollLoop(lane: Lane): Promise<void> {
    while (this.#running) {
      try {
        const response = await this.clients.queue[lane](
          { maxItems: BigInt(this.#options.maxItems), waitMs: BigInt(this.#options.pollWaitMs) },
          { deadlineMs: this.#options.pollWaitMs + 10_000 },
        );
        const tasks = response.tasks;
        if (!tasks) throw new Error("poll response without tasks");
        this.#observeSession(tasks.sessionId);
        for (const task of tasks.tasks) {
          this.polled++;
          this.#push({ resourceGroupId: task.resourceGroupId, jobId: task.jobId, taskId: task.taskId!, sessionId: tasks.sessionId });
        }
      } catch (error) {
        if (!this.#running) return;
        if (!retriable(error)) this.errors.push(`${lane}: ${(error as Error).message}`);
        await sleep(25);
      }
    }
  }
}

export function retriable(error: unknown): boolean {
  const code = statusCode(error);
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.UNKNOWN || code === grpc.status.CANCELLED;
}
