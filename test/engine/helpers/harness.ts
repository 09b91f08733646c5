/**
 * A StorageService over a given store, ready for tests: queue refilled (polls
 * open), timers started, one resource group, helpers to submit jobs and to run
 * task instances by hand.
 */
import { randomUUID } from "node:crypto";
import { isTerminal, type JobState } from "../../../src/core/job-state.ts";
import { compressJobInputs } from "../../../testkit/job-inputs.ts";
import type { TaskGraph } from "../../../src/core/task-graph.ts";
import type { TaskGraphBuilder } from "../../../testkit/task-graph-builder.ts";
import { taskIndex, type TaskId } from "../../../src/core/ids.ts";
import { encodeWireFrame } from "../../../src/core/wire-frame.ts";
import type { JobStore } from "../../../src/db/job-store.ts";
import { silentLogger } from "../../../src/observability/logger.ts";
import type { ExecutionContext } from "../../../src/cache/job-control-block.ts";
import type { StorageServiceConfig } from "../../../src/service/service-config.ts";
import { StorageService, type StorageServiceDeps, type StorageServiceHooks } from "../../../src/service/storage-service.ts";
import { addResourceGroup } from "../../../src/service/add-resource-group.ts";
import { getJobState } from "../../../src/service/get-job-state.ts";
import { pollReadyTasks } from "../../../src/service/poll-ready-tasks.ts";
import { refillQueue } from "../../../src/service/refill-queue.ts";
import { registerExecutionManager } from "../../../src/service/register-execution-manager.ts";
import { registerJob } from "../../../src/service/register-job.ts";
import { registerTaskInstance } from "../../../src/service/register-task-instance.ts";
import { reportTaskFailure } from "../../../src/service/report-task-failure.ts";
import { reportTaskSuccess } from "../../../src/service/report-task-success.ts";
import { startJob } from "../../../src/service/start-job.ts";
import { waitFor } from "../../../testkit/wait-for.ts";

let nextSession = 1000n;

export interface HarnessOptions {
  readonly config?: StorageServiceConfig;
  readonly hooks?: StorageServiceHooks;
  /** Loads uncached Ready jobs from the database, as the server does (MariaDB only). */
  readonly readyJobLoader?: StorageServiceDeps["readyJobLoader"];
  readonly now?: () => number;
  /** Default true: refill (opens the polls) and start the timers. */
  readonly ready?: boolean;
}

export interface SubmittedJob {
  readonly jobId: bigint;
  readonly graph: TaskGraph;
  readonly inputs: Uint8Array[];
}

export class Harness {
  readonly service: StorageService;
  readonly sessionId: bigint;
  resourceGroupId = 0n;
  executionManagerId = 0n;

  constructor(store: JobStore, options: HarnessOptions = {}) {
    this.sessionId = nextSession++;
    this.service = new StorageService({
      store,
      sessionId: this.sessionId,
      logger: silentLogger(),
      ...(options.config ? { config: options.config } : {}),
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.readyJobLoader ? { readyJobLoader: options.readyJobLoader } : {}),
    });
  }

  static async create(store: JobStore, options: HarnessOptions = {}): Promise<Harness> {
    const harness = new Harness(store, options);
    if (options.ready !== false) {
      refillQueue(harness.service.engine);
      harness.service.start();
    }
    harness.resourceGroupId = await addResourceGroup(harness.service.engine, `rg-${randomUUID()}`, new Uint8Array([1, 2, 3]));
    harness.executionManagerId = (await registerExecutionManager(harness.service.engine, "127.0.0.1")).executionManagerId;
    return harness;
  }

  async close(): Promise<void> {
    await this.service.stop();
  }

  /** Registers a job with one small payload per graph input (or the given ones). */
  async submit(builder: TaskGraphBuilder, inputs?: Uint8Array[], payloadSize = 8): Promise<SubmittedJob> {
    const graph = builder.build();
    const jobInputs =
      inputs ??
      Array.from({ length: graph.graphInputCount }, (_, i) => {
        const bytes = new Uint8Array(payloadSize);
        new DataView(bytes.buffer).setUint32(0, i, true);
        return bytes;
      });
    const jobId = await registerJob(this.service.engine, {
      resourceGroupId: this.resourceGroupId,
      compressedTaskGraph: builder.toCompressed(),
      compressedInputs: compressJobInputs(jobInputs),
    });
    return { jobId, graph, inputs: jobInputs };
  }

  async submitAndStart(builder: TaskGraphBuilder, inputs?: Uint8Array[]): Promise<SubmittedJob> {
    const job = await this.submit(builder, inputs);
    await startJob(this.service.engine, job.jobId);

    return job;
  }

  register(jobId: bigint, taskId: TaskId | number, executionManagerId = this.executionManagerId): Promise<ExecutionContext> {
    return registerTaskInstance(this.service.engine, {
      sessionId: this.sessionId,
      jobId,
      taskId: typeof taskId === "number" ? taskIndex(taskId) : taskId,
      executionManagerId,
    });
  }

  succeed(jobId: bigint, taskId: TaskId | number, instanceId: bigint, outputs: Uint8Array[] | Uint8Array = []): Promise<JobState> {
    return reportTaskSuccess(this.service.engine, {
      sessionId: this.sessionId,
      jobId,
      taskId: typeof taskId === "number" ? taskIndex(taskId) : taskId,
      taskInstanceId: instanceId,
      executionManagerId: this.executionManagerId,
      serializedOutputs: outputs instanceof Uint8Array ? outputs : encodeWireFrame(outputs),
    });
  }

  fail(jobId: bigint, taskId: TaskId | number, instanceId: bigint, message = "injected failure"): Promise<JobState> {
    return reportTaskFailure(this.service.engine, {
      sessionId: this.sessionId,
      jobId,
      taskId: typeof taskId === "number" ? taskIndex(taskId) : taskId,
      taskInstanceId: instanceId,
      executionManagerId: this.executionManagerId,
      errorMessage: message,
    });
  }

  /** Polls a lane without waiting. */
  async drain(lane: "task" | "commit" | "cleanup" = "task", maxItems = 10_000): Promise<TaskId[]> {
    const { tasks } = await pollReadyTasks(this.service.engine, lane, { maxItems, waitMs: 0 });
    return tasks.map((t) => t.taskId);
  }

  async waitForState(jobId: bigint, predicate: (state: JobState) => boolean = isTerminal, timeoutMs = 30_000): Promise<JobState> {
    let state: JobState | undefined;
    return waitFor(
      () => `job ${jobId} to reach the awaited state (it is ${state})`,
      async () => {
        state = await getJobState(this.service.engine, jobId);
        return predicate(state) && state;
      },
      { timeoutMs, intervalMs: 5 },
    );
  }
}
