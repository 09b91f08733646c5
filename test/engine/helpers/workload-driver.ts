/**
 * Drives a job to its end with many concurrent in-process simulated execution
 * managers calling the service layer directly (spec §7.10, Spider's
 * scheduling_infra.rs): `workers` loops long-poll the task lane one entry at a
 * time, register an instance, run the deterministic task function and report;
 * two more loops serve the commit and cleanup lanes. Optional failure
 * injection: a share of first-seen tasks get two concurrent instances that
 * both fail. Stale answers (FAILED_PRECONDITION) are expected under races and
 * counted; anything else is recorded as unexpected.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isStorageError } from "../../../src/core/errors.ts";
import { formatTaskId, type TaskId } from "../../../src/core/ids.ts";
import { isTerminal, type JobState } from "../../../src/core/job-state.ts";
import type { TaskGraph } from "../../../src/core/task-graph.ts";
import { decodeTaskOutputs } from "../../../src/core/task-outputs.ts";
import { decodeWireFrame, encodeWireFrame } from "../../../src/core/wire-frame.ts";
import type { Lane } from "../../../src/queue/queue-subject.ts";
import type { ReadyTask } from "../../../src/service/poll-ready-tasks.ts";
import type { Harness } from "./harness.ts";
import { taskOutputs } from "./task-function.ts";
import { cancelJob } from "../../../src/service/cancel-job.ts";
import { heartbeatExecutionManager } from "../../../src/service/heartbeat-execution-manager.ts";
import { pollReadyTasks } from "../../../src/service/poll-ready-tasks.ts";
import { registerExecutionManager } from "../../../src/service/register-execution-manager.ts";
import { registerTaskInstance } from "../../../src/service/register-task-instance.ts";
import { reportTaskFailure } from "../../../src/service/report-task-failure.ts";
import { reportTaskSuccess } from "../../../src/service/report-task-success.ts";

export interface WorkloadOptions {
  readonly workers?: number;
  /** Execution managers the workers share (round-robin). */
  readonly executionManagers?: number;
  readonly outputSize?: number;
  /** Share of first-seen tasks that get two concurrent failing instances (with `random`). */
  readonly doubleFailureRate?: number;
  readonly random?: () => number;
  /** Every instance fails. */
  readonly alwaysFail?: boolean;
  /** Cancel the job `cancelAfterMs` after the driver starts (0: at once, before any work). */
  readonly cancelAfterMs?: number;
  readonly timeoutMs?: number;
}

export interface WorkloadResult {
  readonly state: JobState;
  readonly taskSuccesses: number;
  readonly commitCount: number;
  readonly cleanupCount: number;
  readonly registrations: number;
  readonly failuresReported: number;
  readonly staleAnswers: number;
  readonly invalidAnswers: number;
  readonly unexpected: unknown[];
  /** Decoded job outputs seen by the commit task's context (if it ran). */
  readonly commitInputs: Uint8Array[] | undefined;
  readonly elapsedMs: number;
}

export async function runWorkload(
  harness: Harness,
  jobId: bigint,
  graph: TaskGraph,
  options: WorkloadOptions = {},
): Promise<WorkloadResult> {
  const service = harness.service;
  const workers = options.workers ?? 64;
  const outputSize = options.outputSize ?? 16;
  const emIds: bigint[] = [];
  for (let i = 0; i < (options.executionManagers ?? 8); i++) {
    emIds.push((await registerExecutionManager(service.engine, `10.0.0.${i + 1}`)).executionManagerId);
  }
  const seen = new Set<string>();
  const stats = {
    taskSuccesses: 0,
    commitCount: 0,
    cleanupCount: 0,
    registrations: 0,
    failuresReported: 0,
    staleAnswers: 0,
    invalidAnswers: 0,
  };
  const unexpected: unknown[] = [];
  let commitInputs: Uint8Array[] | undefined;
  let done = false;
  const started = performance.now();

  const note = (error: unknown): void => {
    if (isStorageError(error, "failed_precondition")) stats.staleAnswers++;
    else if (isStorageError(error, "invalid_argument")) stats.invalidAnswers++;
    else unexpected.push(error);
  };

  const instance = async (task: ReadyTask, emId: bigint, outcome: "succeed" | "fail"): Promise<void> => {
    let context;
    try {
      context = await registerTaskInstance(harness.service.engine, {
        sessionId: harness.sessionId,
        jobId: task.jobId,
        taskId: task.taskId,
        executionManagerId: emId,
      });
      stats.registrations++;
    } catch (error) {
      note(error);
      return;
    }
    const report = { sessionId: harness.sessionId, jobId: task.jobId, taskId: task.taskId, taskInstanceId: context.taskInstanceId, executionManagerId: emId };
    try {
      if (outcome === "fail") {
        stats.failuresReported++;
        await reportTaskFailure(service.engine, { ...report, errorMessage: `injected failure of task ${formatTaskId(task.taskId)}` });
        return;
      }
      let outputs: Uint8Array;
      if (task.taskId.kind === "index") {
        const descriptor = graph.tasks[task.taskId.index]!;
        const inputs = decodeWireFrame(context.serializedTaskIo);
        outputs = encodeWireFrame(taskOutputs(descriptor.tdlContext.taskFunc, inputs, descriptor.outputCount, outputSize));
      } else {
        if (task.taskId.kind === "commit") {
          commitInputs = decodeTaskOutputs(context.serializedTaskIo, { maxOutputBytes: 1 << 30 });
        }
        outputs = new Uint8Array(0);
      }
      await reportTaskSuccess(service.engine, { ...report, serializedOutputs: outputs });
      if (task.taskId.kind === "index") stats.taskSuccesses++;
      else if (task.taskId.kind === "commit") stats.commitCount++;
      else stats.cleanupCount++;
    } catch (error) {
      note(error);
    }
  };

  const run = async (task: ReadyTask, emId: bigint): Promise<void> => {
    const key = `${task.jobId}/${formatTaskId(task.taskId)}`;
    const firstSeen = !seen.has(key);
    seen.add(key);
    if (options.alwaysFail) return instance(task, emId, "fail");
    if (firstSeen && options.doubleFailureRate !== undefined && (options.random ?? Math.random)() < options.doubleFailureRate) {
      await Promise.all([instance(task, emId, "fail"), instance(task, emId, "fail")]);
      return;
    }
    return instance(task, emId, "succeed");
  };

  const worker = async (lane: Lane, emId: bigint): Promise<void> => {
    while (!done) {
      let tasks: ReadyTask[];
      try {
        tasks = (await pollReadyTasks(service.engine, lane, { maxItems: 1, waitMs: 20 })).tasks;
      } catch (error) {
        unexpected.push(error);
        return;
      }
      for (const task of tasks) await run(task, emId);
    }
  };

  const heartbeats = (async () => {
    while (!done) {
      for (const id of emIds) await heartbeatExecutionManager(service.engine, id).catch((error: unknown) => unexpected.push(error));
      await sleep(200);
    }
  })();

  let cancel: Promise<unknown> = Promise.resolve();
  if (options.cancelAfterMs === 0) {
    await cancelJob(service.engine, jobId);
  } else if (options.cancelAfterMs !== undefined) {
    cancel = sleep(options.cancelAfterMs).then(() => cancelJob(service.engine, jobId).catch((error: unknown) => unexpected.push(error)));
  }

  const loops: Promise<void>[] = [];
  for (let i = 0; i < workers; i++) loops.push(worker("task", emIds[i % emIds.length]!));
  loops.push(worker("commit", emIds[0]!), worker("cleanup", emIds[0]!));

  let state: JobState;
  try {
    state = await harness.waitForState(jobId, isTerminal, options.timeoutMs ?? 60_000);
  } finally {
    done = true;
    await Promise.all([...loops, heartbeats, cancel]);
  }
  return { state, ...stats, unexpected, commitInputs, elapsedMs: performance.now() - started };
}

export function taskIdText(id: TaskId): string {
  return formatTaskId(id);
}
