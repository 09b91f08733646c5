/**
 * Every path the original service treated as fatal (spec §8), and a barrage of
 * malformed requests: each gets its status (DECISIONS D5) and a message naming
 * the problem, changes nothing, and the server keeps answering.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { startE2e, type E2eEnvironment } from "../../testkit/e2e-server.ts";
import { addResourceGroup, compressInputs, jobOutputs, oracleOutputs, registerJob, submitJob, waitForJobs } from "../../testkit/sim/cluster.ts";
import { diamond, singleTask } from "../../testkit/sim/job-shapes.ts";
import type { StorageClients } from "../../testkit/sim/storage-clients.ts";

const { INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNAUTHENTICATED, ALREADY_EXISTS } = grpc.status;

async function expectStatus(promise: Promise<unknown>, code: grpc.status, message?: RegExp): Promise<void> {
  const error = (await promise.then(
    () => {
      throw new Error(`expected status ${grpc.status[code]}, got OK`);
    },
    (e: unknown) => e,
  )) as grpc.ServiceError;
  expect(grpc.status[error.code], error.details).toBe(grpc.status[code]);
  if (message) expect(error.details).toMatch(message);
}

describe("bad and unlucky requests", () => {
  let env: E2eEnvironment;
  let c: StorageClients;
  let rg: bigint;
  let session: bigint;
  let emId: bigint;

  beforeAll(async () => {
    // No execution managers: the tests play the execution manager by hand.
    env = await startE2e({ cluster: { executionManagers: 0 } });
    c = env.cluster.clients;
    rg = await addResourceGroup(c, "bad-requests");
    const registration = (await c.liveness.registerExecutionManager({ ipAddress: "10.0.0.1" })).registration!;
    session = registration.sessionId;
    emId = registration.executionManagerId;
    await env.cluster.scheduler.stop(); // nobody polls: tasks stay where the test puts them
  });
  afterAll(async () => env?.stop());

  it("job service: unknown jobs, wrong states, bad submissions, unknown resource groups", async () => {
    await expectStatus(c.jobs.getJobState({ jobId: 123_456n }), NOT_FOUND);
    await expectStatus(c.jobs.startJob({ jobId: 123_456n }), NOT_FOUND);
    await expectStatus(c.jobs.getJobOutputs({ jobId: 123_456n }), NOT_FOUND);
    await expectStatus(c.jobs.getJobError({ jobId: 123_456n }), NOT_FOUND);

    const ready = await registerJob(c, rg, singleTask());
    // §8.1: outputs of a cached job that has not succeeded.
    await expectStatus(c.jobs.getJobOutputs({ jobId: ready }), FAILED_PRECONDITION);
    await expectStatus(c.jobs.getJobError({ jobId: ready }), FAILED_PRECONDITION);
    expect((await c.jobs.startJob({ jobId: ready })).state).toBe(JobState.RUNNING);
    await expectStatus(c.jobs.startJob({ jobId: ready }), FAILED_PRECONDITION);

    const graph = singleTask().builder.toCompressed();
    const inputs = compressInputs([new Uint8Array([1])]);
    await expectStatus(c.jobs.registerJob({ resourceGroupId: 999_999n, compressedSerializedTaskGraph: graph, compressedSerializedInputs: inputs }), UNAUTHENTICATED);
    await expectStatus(c.jobs.registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: new Uint8Array([1, 2, 3]), compressedSerializedInputs: inputs }), INVALID_ARGUMENT);
    await expectStatus(
      c.jobs.registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: compressZstd(new TextEncoder().encode("{not json")), compressedSerializedInputs: inputs }),
      INVALID_ARGUMENT,
    );
    await expectStatus(
      c.jobs.registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: new TaskGraphBuilder().toCompressed(), compressedSerializedInputs: compressInputs([]) }),
      INVALID_ARGUMENT,
      /at least one task/,
    );
    await expectStatus(c.jobs.registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: graph, compressedSerializedInputs: compressInputs([]) }), INVALID_ARGUMENT, /input size mismatch/);
    // A zstd bomb: 256 MiB of zeros in a few KiB.
    const bomb = compressZstd(new Uint8Array(256 * 1024 * 1024));
    await expectStatus(c.jobs.registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: bomb, compressedSerializedInputs: inputs }), INVALID_ARGUMENT);
  });

  it("task-instance service: every fatal path of the original answers a status", async () => {
    const job = diamond({ seed: 11 });
    const jobId = await registerJob(c, rg, job);
    const register = (taskId: { kind: { case: "index"; value: bigint } | { case: "commit"; value: object } | { case: "cleanup"; value: object } }, overrides: Partial<{ sessionId: bigint; executionManagerId: bigint; jobId: bigint }> = {}) =>
      c.tasks.registerTaskInstance({ jobId, taskId, executionManagerId: emId, sessionId: session, ...overrides });
    const index = (i: bigint) => ({ kind: { case: "index" as const, value: i } });

    // §8.3: a Ready (unstarted) job.
    await expectStatus(register(index(0n)), FAILED_PRECONDITION);
    await c.jobs.startJob({ jobId });
    await expectStatus(register(index(0n), { sessionId: session - 1n }), NOT_FOUND, /stale session/);
    await expectStatus(register(index(99n)), FAILED_PRECONDITION); // out of range
    // Every u64 that names no task, up to 2^64 − 1, is out of range too (D5; Spider's u64 fits usize).
    for (const huge of [1n << 32n, 1n << 40n, 1n << 63n, (1n << 64n) - 1n]) {
      await expectStatus(register(index(huge)), FAILED_PRECONDITION, /out of range/);
    }
    await expectStatus(register(index(1n << 63n), { sessionId: session - 1n }), NOT_FOUND, /stale session/); // the session is checked first
    await expectStatus(register(index(3n)), FAILED_PRECONDITION); // Pending
    await expectStatus(register({ kind: { case: "commit", value: {} } }), FAILED_PRECONDITION); // no commit task
    await expectStatus(register({ kind: { case: "cleanup", value: {} } }), FAILED_PRECONDITION);
    await expectStatus(register(index(0n), { executionManagerId: 777_777n }), FAILED_PRECONDITION); // §8.5 unknown EM
    await expectStatus(register(index(0n), { jobId: 555_555n }), FAILED_PRECONDITION); // unknown job
    await expectStatus(c.tasks.registerTaskInstance({ jobId, executionManagerId: emId, sessionId: session }), INVALID_ARGUMENT, /task ID is missing/);
    await expectStatus(c.tasks.registerTaskInstance({ jobId, taskId: {}, executionManagerId: emId, sessionId: session }), INVALID_ARGUMENT, /missing kind/);

    // §8.4: success with the wrong number of outputs is refused and counts as a failure.
    const context = (await register(index(0n))).executionContext!;
    const report = { jobId, taskId: index(0n), taskInstanceId: context.taskInstanceId, executionManagerId: emId, sessionId: session };
    await expectStatus(c.tasks.reportTaskSuccess({ ...report, serializedOutputs: encodeWireFrame([new Uint8Array([1])]) }), INVALID_ARGUMENT);
    // Default policy has no retries: the job failed with the message, nothing stranded Running.
    expect((await c.jobs.getJobState({ jobId })).state).toBe(JobState.FAILED);
    expect((await c.jobs.getJobError({ jobId })).errorMessage).toMatch(/output/);
    // Reports for a job that has failed are stale.
    await expectStatus(c.tasks.reportTaskSuccess({ ...report, serializedOutputs: encodeWireFrame([new Uint8Array([1]), new Uint8Array([2])]) }), FAILED_PRECONDITION);
    await expectStatus(c.tasks.reportTaskFailure({ ...report, errorMessage: "late" }), FAILED_PRECONDITION);
    await expectStatus(c.tasks.reportTaskFailure({ ...report, sessionId: session + 5n, errorMessage: "x" }), NOT_FOUND);
  });

  it("undecodable outputs count as a failed attempt and the task runs again", async () => {
    const job = singleTask({ policy: { maxNumRetry: 1 }, seed: 12 });
    const jobId = await submitJob(c, rg, job);
    const taskId = { kind: { case: "index" as const, value: 0n } };
    const first = (await c.tasks.registerTaskInstance({ jobId, taskId, executionManagerId: emId, sessionId: session })).executionContext!;
    await expectStatus(
      c.tasks.reportTaskSuccess({ jobId, taskId, taskInstanceId: first.taskInstanceId, executionManagerId: emId, sessionId: session, serializedOutputs: new Uint8Array([9, 9]) }),
      INVALID_ARGUMENT,
    );
    expect((await c.jobs.getJobState({ jobId })).state).toBe(JobState.RUNNING);
    const second = (await c.tasks.registerTaskInstance({ jobId, taskId, executionManagerId: emId, sessionId: session })).executionContext!;
    const outputs = encodeWireFrame([new Uint8Array(16)]);
    await c.tasks.reportTaskSuccess({ jobId, taskId, taskInstanceId: second.taskInstanceId, executionManagerId: emId, sessionId: session, serializedOutputs: outputs });
    expect((await c.jobs.getJobState({ jobId })).state).toBe(JobState.SUCCEEDED);
  });

  it("liveness, scheduler and resource-group services validate their input", async () => {
    await expectStatus(c.liveness.registerExecutionManager({ ipAddress: "not-an-ip" }), INVALID_ARGUMENT, /invalid IP address/);
    await expectStatus(c.liveness.updateExecutionManagerHeartbeat({ executionManagerId: 424_242n }), INVALID_ARGUMENT);
    await expectStatus(c.schedulers.registerScheduler({ host: "", port: 1 }), INVALID_ARGUMENT, /host must not be empty/);
    await expectStatus(c.schedulers.registerScheduler({ host: "h", port: 70_000 }), INVALID_ARGUMENT, /port/);
    await expectStatus(c.resourceGroups.addResourceGroup({ externalResourceGroupId: "bad-requests", password: new Uint8Array([1]) }), ALREADY_EXISTS);
    await expectStatus(c.resourceGroups.verifyResourceGroup({ resourceGroupId: rg, password: new Uint8Array([1]) }), UNAUTHENTICATED);
    await expectStatus(c.resourceGroups.verifyResourceGroup({ resourceGroupId: 31_337n, password: new Uint8Array([1]) }), UNAUTHENTICATED);
    await c.resourceGroups.verifyResourceGroup({ resourceGroupId: rg, password: new TextEncoder().encode("secret") });
    // Huge polls are clamped, never an error and never a giant allocation (§8.8).
    const poll = await c.queue.pollReadyTasks({ maxItems: (1n << 64n) - 1n, waitMs: 0n });
    expect(poll.tasks?.sessionId).toBe(session);
    const schedulers = await c.schedulers.getSchedulers({});
    expect(schedulers.schedulers?.schedulers.length).toBeGreaterThanOrEqual(1);
  });

  it("garbage on the wire gets a status, and afterwards the server still runs jobs", async () => {
    // A raw call whose body is not a valid protobuf message.
    const client = new grpc.Client(env.server.address, grpc.credentials.createInsecure());
    const raw = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest(
        "/storage.JobOrchestrationService/RegisterJob",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        (error) => resolve(error),
      );
    });
    client.close();
    // D5: a request that does not decode is malformed input, INVALID_ARGUMENT (not grpc-js's INTERNAL).
    expect(raw?.code).toBe(grpc.status.INVALID_ARGUMENT);

    // The server is alive and correct: run a job with a fresh cluster.
    const { SimulatedCluster } = await import("../../testkit/sim/cluster.ts");
    const cluster = await new SimulatedCluster(env.server.address, { executionManagers: 2 }).start();
    try {
      const job = diamond({ commit: true, seed: 13 });
      const jobId = await submitJob(cluster.clients, rg, job);
      expect((await waitForJobs(cluster.clients, [jobId], 20_000)).get(jobId)).toBe("Succeeded");
      expect(await jobOutputs(cluster.clients, jobId)).toEqual(oracleOutputs(job));
    } finally {
      await cluster.stop();
    }
    // The job ran after the garbage: the server was not brought down by it.
    expect(env.server.running).toBe(true);
  });
});

