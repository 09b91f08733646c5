/**
 * Valid requests in hostile orders, each scenario on a fresh job: StartJob
 * twice, instances of jobs not started, reports for instances never
 * registered, double reports, cancel then report, dead and unknown execution
 * managers, Pending tasks and indices no graph has, the instance limit,
 * everything on a terminal job, stale and future sessions, reports with the
 * wrong output count, failures through the retries, a report naming another
 * task, the commit task out of order. Every step has its D5 status; a
 * refused step must leave the state as it was (snapshot before and after);
 * after each accepted step the job must be in the state D4 allows.
 */
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { decodeWireFrame, encodeWireFrame } from "../../src/core/wire-frame.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import type { TaskIdSchema } from "../../src/gen/common/common_pb.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { diamond, singleTask, type JobSpec } from "../../testkit/sim/job-shapes.ts";
import { statusCode } from "../../testkit/sim/storage-clients.ts";
import type { FuzzEnvironment } from "./fuzz-environment.ts";
import { settledSnapshot, snapshotDiff, takeSnapshot, type StateSnapshot } from "./state-snapshot.ts";
import { statusName } from "./fuzz-case.ts";

const stateName = (state: JobState): string => JobStateSchemaName[state] ?? String(state);
const JobStateSchemaName: Record<number, string> = Object.fromEntries(Object.entries(JobState).filter(([, v]) => typeof v === "number").map(([k, v]) => [v, k]));

const { OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION } = grpc.status;

export const SCENARIOS = [
  "start-twice",
  "instance-before-start",
  "report-unregistered-instance",
  "double-report",
  "cancel-then-report",
  "dead-or-unknown-execution-manager",
  "pending-and-out-of-range",
  "instance-limit",
  "terminal-job",
  "stale-session",
  "wrong-output-count",
  "cancel-ready-then-start",
  "failures-through-retries",
  "report-names-another-task",
  "commit-out-of-order",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface HostileOrderCase {
  readonly scenario: ScenarioName;
  readonly commit: boolean;
  readonly cleanup: boolean;
  readonly retries: 0 | 1;
  /** Bytes sent as a wrong report's outputs (wrong-output-count). */
  readonly junk: Uint8Array;
}

export const hostileOrderCase: fc.Arbitrary<HostileOrderCase> = fc.record({
  scenario: fc.constantFrom(...SCENARIOS),
  commit: fc.boolean(),
  cleanup: fc.boolean(),
  retries: fc.constantFrom<0 | 1>(0, 1),
  junk: fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.constant(encodeWireFrame([new Uint8Array(1), new Uint8Array(2)])), fc.constant(encodeWireFrame([]))),
});

/** What went wrong in a scenario (empty: nothing). */
export type ScenarioProblems = string[];

type TaskId = MessageInitShape<typeof TaskIdSchema>;
const index = (i: bigint | number): TaskId => ({ kind: { case: "index", value: BigInt(i) } });
const COMMIT: TaskId = { kind: { case: "commit", value: {} } };
const CLEANUP: TaskId = { kind: { case: "cleanup", value: {} } };
const outputs = (count: number) => encodeWireFrame(Array.from({ length: count }, (_, i) => new TextEncoder().encode(`out-${i}`)));

function decodesToOneOutput(bytes: Uint8Array): boolean {
  try {
    return decodeWireFrame(bytes, "outputs").length === 1;
  } catch {
    return false;
  }
}

/** Runs steps, checking each status, and state around the refused ones. */
class Steps {
  readonly problems: ScenarioProblems = [];
  readonly env: FuzzEnvironment;
  #snapshot: StateSnapshot | undefined;
  #settle = false;
  calls = 0;

  constructor(env: FuzzEnvironment) {
    this.env = env;
  }

  /** A step D5 says is accepted (`code` OK) or refused with a state change by design (`changes`). */
  async accepted<T>(label: string, code: grpc.status, call: () => Promise<T>, options: { settles?: boolean } = {}): Promise<T | undefined> {
    const result = await this.#call(label, code, call);
    this.#snapshot = undefined;
    this.#settle ||= options.settles ?? false;
    return result;
  }

  /** A step D5 says is refused with `code`: nothing may change. */
  async refused(label: string, code: grpc.status, call: () => Promise<unknown>): Promise<void> {
    const before = this.#snapshot ?? (this.#settle ? await settledSnapshot(this.env) : await takeSnapshot(this.env));
    this.#settle = false;
    await this.#call(label, code, call);
    const after = await takeSnapshot(this.env);
    const diff = snapshotDiff(before, after);
    if (diff.length > 0) this.problems.push(`${label}: refused (${statusName(code)}) but the state changed: ${diff.join("; ")}`);
    this.#snapshot = after;
  }

  async state(label: string, jobId: bigint, expected: JobState): Promise<void> {
    const got = await this.#call(`${label}: GetJobState`, OK, () => this.env.clients.jobs.getJobState({ jobId }));
    if (got !== undefined && got.state !== expected) this.problems.push(`${label}: job ${jobId} is ${stateName(got.state)}, expected ${stateName(expected)}`);
  }

  async #call<T>(label: string, code: grpc.status, call: () => Promise<T>): Promise<T | undefined> {
    this.calls += 1;
    try {
      const result = await call();
      if (code !== OK) this.problems.push(`${label}: OK, expected ${statusName(code)}`);
      return result;
    } catch (error) {
      const got = statusCode(error);
      if (got !== code) this.problems.push(`${label}: ${got === undefined ? String(error) : `${statusName(got)} (${(error as grpc.ServiceError).details})`}, expected ${statusName(code)}`);
      return undefined;
    }
  }
}

/** Runs one scenario; returns the problems found, the job it made and the calls it sent. */
export async function runHostileOrder(c: HostileOrderCase, env: FuzzEnvironment, knownJobIds: Set<bigint>): Promise<{ problems: ScenarioProblems; calls: number }> {
  const s = new Steps(env);
  const { clients } = env;
  const world = env.world;
  const policy = { maxNumRetry: c.retries };
  const spec: JobSpec =
    c.scenario === "pending-and-out-of-range" || c.scenario === "report-names-another-task"
      ? diamond({ commit: c.commit, cleanup: c.cleanup, policy })
      : singleTask({ commit: c.commit || c.scenario === "commit-out-of-order", cleanup: c.cleanup, policy });
  const registered = await s.accepted("RegisterJob", OK, () =>
    clients.jobs.registerJob({
      resourceGroupId: world.resourceGroupId,
      compressedSerializedTaskGraph: spec.builder.toCompressed(),
      compressedSerializedInputs: compressZstd(encodeWireFrame(spec.inputs)),
    }),
  );
  if (registered === undefined) return { problems: s.problems, calls: s.calls };
  const jobId = registered.jobId;
  knownJobIds.add(jobId);
  const session = world.sessionId;
  const em = world.aliveExecutionManagerId;
  const start = () => s.accepted("StartJob", OK, () => clients.jobs.startJob({ jobId }));
  const register = (label: string, taskId: TaskId, code: grpc.status, executionManagerId = em, sessionId = session) => {
    const call = () => clients.tasks.registerTaskInstance({ jobId, taskId, executionManagerId, sessionId });
    return code === OK ? s.accepted(label, code, call).then((r) => r?.executionContext?.taskInstanceId) : s.refused(label, code, call).then(() => undefined);
  };
  const succeed = (label: string, taskId: TaskId, taskInstanceId: bigint, code: grpc.status, serializedOutputs = outputs(1), sessionId = session) => {
    const call = () => clients.tasks.reportTaskSuccess({ jobId, taskId, taskInstanceId, executionManagerId: em, sessionId, serializedOutputs });
    return code === OK ? s.accepted(label, code, call, { settles: true }) : s.refused(label, code, call);
  };
  const fail = (label: string, taskId: TaskId, taskInstanceId: bigint, code: grpc.status, sessionId = session) => {
    const call = () => clients.tasks.reportTaskFailure({ jobId, taskId, taskInstanceId, executionManagerId: em, sessionId, errorMessage: `fuzz failure of ${label}` });
    return code === OK ? s.accepted(label, code, call) : s.refused(label, code, call);
  };
  const BOGUS_INSTANCE = 2n ** 64n - 1n;
  /** The state a finished single task leaves: CommitReady with a commit task, else Succeeded. */
  const afterLastTask = spec.builder.toObject().commit_task !== null ? JobState.COMMIT_READY : JobState.SUCCEEDED;
  /** CancelJob of a started job: CleanupReady with a cleanup task, else Cancelled (D4). */
  const afterCancel = c.cleanup ? JobState.CLEANUP_READY : JobState.CANCELLED;

  switch (c.scenario) {
    case "start-twice":
      await start();
      await s.refused("StartJob again", FAILED_PRECONDITION, () => clients.jobs.startJob({ jobId }));
      await s.state("after", jobId, JobState.RUNNING);
      break;
    case "instance-before-start":
      await register("RegisterTaskInstance of a Ready job", index(0), FAILED_PRECONDITION);
      await succeed("ReportTaskSuccess of a Ready job", index(0), 1n, FAILED_PRECONDITION);
      await s.refused("GetJobOutputs of a Ready job", FAILED_PRECONDITION, () => clients.jobs.getJobOutputs({ jobId }));
      await s.refused("GetJobError of a Ready job", FAILED_PRECONDITION, () => clients.jobs.getJobError({ jobId }));
      await s.state("after", jobId, JobState.READY);
      break;
    case "report-unregistered-instance":
      await start();
      await succeed("ReportTaskSuccess of an instance never registered", index(0), BOGUS_INSTANCE, FAILED_PRECONDITION);
      await fail("ReportTaskFailure of an instance never registered", index(0), BOGUS_INSTANCE, FAILED_PRECONDITION);
      await s.state("after", jobId, JobState.RUNNING);
      break;
    case "double-report": {
      await start();
      const instance = await register("RegisterTaskInstance", index(0), OK);
      if (instance === undefined) break;
      await succeed("ReportTaskSuccess", index(0), instance, OK);
      await s.state("after the success", jobId, afterLastTask);
      await succeed("ReportTaskSuccess again", index(0), instance, FAILED_PRECONDITION);
      await fail("ReportTaskFailure after the success", index(0), instance, FAILED_PRECONDITION);
      await s.state("after", jobId, afterLastTask);
      break;
    }
    case "cancel-then-report": {
      await start();
      const instance = await register("RegisterTaskInstance", index(0), OK);
      if (instance === undefined) break;
      const cancelled = await s.accepted("CancelJob", OK, () => clients.jobs.cancelJob({ jobId }));
      if (cancelled !== undefined && cancelled.state !== afterCancel) s.problems.push(`CancelJob answered ${stateName(cancelled.state)}, expected ${stateName(afterCancel)}`);
      await succeed("ReportTaskSuccess after the cancel", index(0), instance, FAILED_PRECONDITION);
      await fail("ReportTaskFailure after the cancel", index(0), instance, FAILED_PRECONDITION);
      // Idempotent, the same state, nothing changes (D5).
      await s.refused("CancelJob again (OK with its state, changes nothing)", OK, () => clients.jobs.cancelJob({ jobId }));
      await s.refused("StartJob after the cancel", FAILED_PRECONDITION, () => clients.jobs.startJob({ jobId }));
      await s.state("after", jobId, afterCancel);
      break;
    }
    case "dead-or-unknown-execution-manager":
      await start();
      await register("RegisterTaskInstance by a dead execution manager", index(0), FAILED_PRECONDITION, world.deadExecutionManagerId);
      await register("RegisterTaskInstance by an unknown execution manager", index(0), FAILED_PRECONDITION, 2n ** 64n - 1n);
      await register("RegisterTaskInstance by execution manager 0", index(0), FAILED_PRECONDITION, 0n);
      await s.refused("heartbeat of an unknown execution manager", INVALID_ARGUMENT, () => clients.liveness.updateExecutionManagerHeartbeat({ executionManagerId: 2n ** 63n }));
      await s.refused("heartbeat of a dead execution manager", FAILED_PRECONDITION, () => clients.liveness.updateExecutionManagerHeartbeat({ executionManagerId: world.deadExecutionManagerId }));
      await s.state("after", jobId, JobState.RUNNING);
      break;
    case "pending-and-out-of-range":
      await start();
      await register("RegisterTaskInstance of a Pending task", index(3), FAILED_PRECONDITION);
      await register("RegisterTaskInstance of task 4 (no such task)", index(4), FAILED_PRECONDITION);
      await register("RegisterTaskInstance of task 2^63", index(2n ** 63n), FAILED_PRECONDITION);
      await register("RegisterTaskInstance of task 2^64 − 1", index(2n ** 64n - 1n), FAILED_PRECONDITION);
      await register("RegisterTaskInstance of the commit task while Running", COMMIT, FAILED_PRECONDITION);
      await register("RegisterTaskInstance of the cleanup task while Running", CLEANUP, FAILED_PRECONDITION);
      await s.state("after", jobId, JobState.RUNNING);
      break;
    case "instance-limit":
      await start();
      if ((await register("RegisterTaskInstance", index(0), OK)) === undefined) break;
      await register("RegisterTaskInstance beyond max_num_instances", index(0), FAILED_PRECONDITION);
      await s.state("after", jobId, JobState.RUNNING);
      break;
    case "terminal-job": {
      await start();
      const instance = await register("RegisterTaskInstance", index(0), OK);
      if (instance === undefined) break;
      await succeed("ReportTaskSuccess", index(0), instance, OK);
      await register("RegisterTaskInstance of a finished task", index(0), FAILED_PRECONDITION);
      await s.refused("StartJob of a finished job", FAILED_PRECONDITION, () => clients.jobs.startJob({ jobId }));
      await s.refused("GetJobError of a job not Failed", FAILED_PRECONDITION, () => clients.jobs.getJobError({ jobId }));
      if (afterLastTask === JobState.SUCCEEDED) {
        await s.refused("CancelJob of a Succeeded job (OK, changes nothing)", OK, () => clients.jobs.cancelJob({ jobId }));
        const got = await s.accepted("GetJobOutputs", OK, () => clients.jobs.getJobOutputs({ jobId }));
        if (got !== undefined && got.serializedOutputs.length === 0) s.problems.push("GetJobOutputs of a Succeeded job answered no outputs");
      } else {
        await s.refused("GetJobOutputs of a CommitReady job", FAILED_PRECONDITION, () => clients.jobs.getJobOutputs({ jobId }));
      }
      await s.state("after", jobId, afterLastTask);
      break;
    }
    case "stale-session": {
      await start();
      await register("RegisterTaskInstance with the previous session", index(0), NOT_FOUND, em, session - 1n);
      await register("RegisterTaskInstance with a future session", index(0), NOT_FOUND, em, session + 1n);
      await register("RegisterTaskInstance with session 2^64 − 1", index(0), NOT_FOUND, em, 2n ** 64n - 1n);
      const instance = await register("RegisterTaskInstance", index(0), OK);
      if (instance === undefined) break;
      await succeed("ReportTaskSuccess with a stale session", index(0), instance, NOT_FOUND, outputs(1), session - 1n);
      await fail("ReportTaskFailure with session 0", index(0), instance, NOT_FOUND, 0n);
      await s.state("after", jobId, JobState.RUNNING);
      break;
    }
    case "wrong-output-count": {
      await start();
      const instance = await register("RegisterTaskInstance", index(0), OK);
      if (instance === undefined) break;
      // D5: INVALID_ARGUMENT, and the attempt counts as failed — a state change by design.
      // (Junk that happens to be a frame of exactly one output would be a valid report: send an empty frame then.)
      const junk = decodesToOneOutput(c.junk) ? encodeWireFrame([]) : c.junk;
      await s.accepted("ReportTaskSuccess with outputs that do not decode to 1", INVALID_ARGUMENT, () =>
        clients.tasks.reportTaskSuccess({ jobId, taskId: index(0), taskInstanceId: instance, executionManagerId: em, sessionId: session, serializedOutputs: junk }),
      );
      if (c.retries === 0) {
        await s.state("no retry left: the job failed", jobId, JobState.FAILED);
        const error = await s.accepted("GetJobError", OK, () => clients.jobs.getJobError({ jobId }));
        if (error !== undefined && !/invalid task outputs/.test(error.errorMessage)) s.problems.push(`GetJobError: "${error.errorMessage}" does not name the invalid outputs`);
      } else {
        await s.state("a retry left: still running", jobId, JobState.RUNNING);
        await register("RegisterTaskInstance again (the task was re-enqueued)", index(0), OK);
      }
      break;
    }
    case "cancel-ready-then-start": {
      const cancelled = await s.accepted("CancelJob of a Ready job", OK, () => clients.jobs.cancelJob({ jobId }));
      if (cancelled !== undefined && cancelled.state !== JobState.CANCELLED) s.problems.push(`CancelJob of a Ready job answered ${stateName(cancelled.state)}, expected CANCELLED (D4)`);
      await s.refused("StartJob of a Cancelled job", FAILED_PRECONDITION, () => clients.jobs.startJob({ jobId }));
      await register("RegisterTaskInstance of a Cancelled job", index(0), FAILED_PRECONDITION);
      await register("RegisterTaskInstance of the cleanup task of a Cancelled Ready job", CLEANUP, FAILED_PRECONDITION);
      await s.state("after", jobId, JobState.CANCELLED);
      break;
    }
    case "failures-through-retries": {
      await start();
      for (let attempt = 0; attempt <= c.retries; attempt++) {
        const instance = await register(`RegisterTaskInstance (attempt ${attempt})`, index(0), OK);
        if (instance === undefined) return { problems: s.problems, calls: s.calls };
        await fail(`ReportTaskFailure (attempt ${attempt})`, index(0), instance, OK);
        await s.state(`after failure ${attempt}`, jobId, attempt < c.retries ? JobState.RUNNING : JobState.FAILED);
        if (attempt === c.retries) await fail("ReportTaskFailure again", index(0), instance, FAILED_PRECONDITION);
      }
      const error = await s.accepted("GetJobError", OK, () => clients.jobs.getJobError({ jobId }));
      if (error !== undefined && !error.errorMessage.includes("fuzz failure")) s.problems.push(`GetJobError: "${error.errorMessage}" is not the reported message`);
      await s.refused("GetJobOutputs of a Failed job", FAILED_PRECONDITION, () => clients.jobs.getJobOutputs({ jobId }));
      break;
    }
    case "report-names-another-task": {
      await start();
      const instance = await register("RegisterTaskInstance of task 0", index(0), OK);
      if (instance === undefined) break;
      await succeed("ReportTaskSuccess naming task 1 with task 0's instance", index(1), instance, FAILED_PRECONDITION);
      await succeed("ReportTaskSuccess naming the commit task with task 0's instance", COMMIT, instance, FAILED_PRECONDITION);
      await s.state("after", jobId, JobState.RUNNING);
      break;
    }
    case "commit-out-of-order": {
      await start();
      await register("RegisterTaskInstance of the commit task before the tasks", COMMIT, FAILED_PRECONDITION);
      const instance = await register("RegisterTaskInstance", index(0), OK);
      if (instance === undefined) break;
      await succeed("ReportTaskSuccess", index(0), instance, OK);
      await s.state("after the last task", jobId, JobState.COMMIT_READY);
      const commit = await register("RegisterTaskInstance of the commit task", COMMIT, OK);
      if (commit === undefined) break;
      await succeed("ReportTaskSuccess of the commit task", COMMIT, commit, OK, new Uint8Array(0));
      await s.state("after the commit", jobId, JobState.SUCCEEDED);
      await register("RegisterTaskInstance of the commit task again", COMMIT, FAILED_PRECONDITION);
      await succeed("ReportTaskSuccess of the commit task again", COMMIT, commit, FAILED_PRECONDITION, new Uint8Array(0));
      break;
    }
  }
  return { problems: s.problems, calls: s.calls };
}
