/**
 * Spider's four restart-recovery scenarios (spec §7.12,
 * tests/runtime_recovery_test.rs) through the real server process: a Ready,
 * a Running, a CommitReady and a CleanupReady job survive a restart and finish;
 * a further restart shows the outcome persisted. Session ids strictly increase
 * across every restart.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { addResourceGroup, hex, jobOutputs, oracleOutputs, registerJob } from "../../testkit/sim/cluster.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { decodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { CLEANUP_TASK, COMMIT_TASK, grpcCode, indexTask, ManualWorker, retrying } from "./helpers/recovery-fixture.ts";

describe("restart recovery: Spider's scenarios (spec §7.12)", () => {
  let databaseUrl: string;
  let server: ServerProcess | undefined;
  let worker: ManualWorker | undefined;
  const sessions: bigint[] = [];

  /** (Re)starts the server on the same database; SIGKILL by default, SIGTERM when `graceful`. */
  async function restart(graceful = false): Promise<ManualWorker> {
    worker?.close();
    if (server) await (graceful ? server.stop() : server.kill());
    server = await ServerProcess.start({ databaseUrl });
    const session = await server.waitServing();
    if (sessions.length > 0) expect(session).toBeGreaterThan(sessions[sessions.length - 1]!);
    sessions.push(session);
    worker = await ManualWorker.connect(server.address);
    return worker;
  }

  beforeAll(async () => {
    databaseUrl = await testDatabase("recovery");
  });
  afterAll(async () => {
    worker?.close();
    await server?.kill();
    expect([...sessions].sort((a, b) => (a < b ? -1 : 1))).toEqual(sessions);
  });

  it("recovers a Ready job: it can be started after the restart, runs to Succeeded, and its outputs persist", async () => {
    let w = await restart();
    const rg = await addResourceGroup(w.clients);
    const job = singleTask({ seed: 1 });
    const jobId = await registerJob(w.clients, rg, job);
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.READY);

    w = await restart(true); // SIGTERM: a clean shutdown
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.READY);
    expect((await w.clients.jobs.startJob({ jobId })).state).toBe(JobState.RUNNING);
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.RUNNING);
    const session = await w.session();
    const ready = (await w.drain("pollReadyTasks")).filter((t) => t.jobId === jobId);
    expect(ready).toHaveLength(1);
    expect((await w.run(jobId, indexTask(0), session)).state).toBe(JobState.SUCCEEDED);
    expect(await jobOutputs(w.clients, jobId)).toEqual(oracleOutputs(job));

    w = await restart();
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.SUCCEEDED);
    expect(await jobOutputs(w.clients, jobId)).toEqual(oracleOutputs(job));
  });

  it("recovers a Running job from the start: its task is polled, registered in the new session and succeeds", async () => {
    let w = await restart();
    const rg = await addResourceGroup(w.clients);
    const job = singleTask({ seed: 2 });
    const jobId = await registerJob(w.clients, rg, job);
    await w.clients.jobs.startJob({ jobId });
    const oldSession = await w.session();
    expect((await w.drain("pollReadyTasks")).filter((t) => t.jobId === jobId)).toHaveLength(1);

    w = await restart();
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.RUNNING);
    // The old session's assignment is fenced off.
    await expect(w.register(jobId, indexTask(0), oldSession)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const session = await w.session();
    const ready = (await w.drain("pollReadyTasks")).filter((t) => t.jobId === jobId);
    expect(ready.map((t) => t.sessionId)).toEqual([session]);
    expect((await w.run(jobId, indexTask(0), session)).state).toBe(JobState.SUCCEEDED);
    expect(await jobOutputs(w.clients, jobId)).toEqual(oracleOutputs(job));

    w = await restart();
    expect(await jobOutputs(w.clients, jobId)).toEqual(oracleOutputs(job));
  });

  it("recovers a CommitReady job: exactly one commit entry, regular tasks refused, commit succeeds with the stored outputs", async () => {
    let w = await restart();
    const rg = await addResourceGroup(w.clients);
    const job = singleTask({ seed: 3, commit: true });
    const jobId = await registerJob(w.clients, rg, job);
    await w.clients.jobs.startJob({ jobId });
    let session = await w.session();
    await w.drain("pollReadyTasks");
    const { state, outputs } = await w.run(jobId, indexTask(0), session);
    expect(state).toBe(JobState.COMMIT_READY);

    w = await restart();
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.COMMIT_READY);
    session = await w.session();
    const commits = (await w.drain("pollReadyCommitTasks")).filter((t) => t.jobId === jobId);
    expect(commits).toHaveLength(1);
    expect(commits[0]!.taskId.kind.case).toBe("commit");
    expect((await w.drain("pollReadyTasks")).filter((t) => t.jobId === jobId)).toHaveLength(0);
    await expect(w.register(jobId, indexTask(0), session)).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    // The commit task receives the job outputs stored before the restart.
    const context = (await w.register(jobId, COMMIT_TASK, session)).executionContext!;
    const stored = decodeTaskOutputs(context.serializedTaskIo, { maxOutputBytes: 1 << 20 }).map(hex);
    expect(stored).toEqual(oracleOutputs(job));
    expect(stored).toEqual([hex(outputs.subarray(8))]); // one output: the frame is [count][len][bytes]
    await w.clients.tasks.reportTaskSuccess({
      jobId,
      taskId: COMMIT_TASK,
      taskInstanceId: context.taskInstanceId,
      executionManagerId: w.emId,
      sessionId: session,
      serializedOutputs: new Uint8Array(),
    });
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.SUCCEEDED);
    expect(await jobOutputs(w.clients, jobId)).toEqual(oracleOutputs(job));

    w = await restart();
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.SUCCEEDED);
    expect(await jobOutputs(w.clients, jobId)).toEqual(oracleOutputs(job));
  });

  it("recovers a CleanupReady job: exactly one cleanup entry, regular tasks refused, cleanup succeeds → Cancelled", async () => {
    let w = await restart();
    const rg = await addResourceGroup(w.clients);
    const jobId = await registerJob(w.clients, rg, singleTask({ seed: 4, cleanup: true }));
    await w.clients.jobs.startJob({ jobId });
    expect((await w.clients.jobs.cancelJob({ jobId })).state).toBe(JobState.CLEANUP_READY);

    w = await restart();
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.CLEANUP_READY);
    const session = await w.session();
    const cleanups = (await w.drain("pollReadyCleanupTasks")).filter((t) => t.jobId === jobId);
    expect(cleanups).toHaveLength(1);
    expect(cleanups[0]!.taskId.kind.case).toBe("cleanup");
    await expect(w.register(jobId, indexTask(0), session)).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await expect(w.register(jobId, COMMIT_TASK, session)).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect((await w.run(jobId, CLEANUP_TASK, session)).state).toBe(JobState.CANCELLED);

    w = await restart();
    expect((await w.clients.jobs.getJobState({ jobId })).state).toBe(JobState.CANCELLED);
    // Idempotent cancel of a terminal job that is no longer cached.
    expect((await w.clients.jobs.cancelJob({ jobId })).state).toBe(JobState.CANCELLED);
  });

  it("loads a never-started Ready job from the database for CancelJob too, and StartJob on it then fails", async () => {
    let w = await restart();
    const rg = await addResourceGroup(w.clients);
    const jobId = await registerJob(w.clients, rg, singleTask({ seed: 5, cleanup: true }));
    w = await restart();
    expect((await w.clients.jobs.cancelJob({ jobId })).state).toBe(JobState.CANCELLED); // Ready → Cancelled, no cleanup
    const error = await retrying(() => w.clients.jobs.startJob({ jobId })).catch((e: unknown) => e);
    expect(grpcCode(error)).toBe(grpc.status.FAILED_PRECONDITION);
    expect((await w.drain("pollReadyCleanupTasks")).filter((t) => t.jobId === jobId)).toHaveLength(0);
  });
});
