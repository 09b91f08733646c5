/**
 * Every runtime.limits.* size limit, end to end through a real server with
 * small limits (issue 7, DECISIONS D5): exceeding one answers INVALID_ARGUMENT
 * naming the limit and writes nothing (no job row). The exceptions, as
 * documented in the README: a request above max_request_bytes (the transport
 * limit, which also bounds gzip decompression) is refused by grpc-js itself
 * with RESOURCE_EXHAUSTED, before it is buffered; task outputs that take a running job above
 * max_payload_bytes_per_job fail that job (running it again would give the
 * same outputs).
 */
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { ServerProcess } from "../../testkit/server-process.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { addResourceGroup, compressInputs, registerJob } from "../../testkit/sim/cluster.ts";
import { flat, singleTask } from "../../testkit/sim/job-shapes.ts";
import { simTaskFunc } from "../../testkit/sim/simulated-execution-manager.ts";
import { connectStorage, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { countJobRows } from "./helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

const LIMITS = {
  MAX_REQUEST_BYTES: MiB,
  MAX_DECOMPRESSED_BYTES: 64 * KiB,
  MAX_TASKS_PER_JOB: 3,
  MAX_DEPENDENCIES_PER_JOB: 2,
  MAX_PAYLOAD_BYTES_PER_JOB: 16 * KiB,
  MAX_TASK_GRAPH_BYTES: 32 * KiB,
  MAX_TASK_GRAPH_VALUES: 200,
  MAX_ZSTD_FRAMES: 2,
};

describe("size limits", () => {
  let server: ServerProcess;
  let databaseUrl: string;
  let c: StorageClients;
  let rg: bigint;

  beforeAll(async () => {
    databaseUrl = await testDatabase("limits");
    server = await ServerProcess.start({
      databaseUrl,
      env: Object.fromEntries(Object.entries(LIMITS).map(([key, value]) => [`SPIDER_STORAGE_RUNTIME__LIMITS__${key}`, String(value)])),
    });
    await server.waitServing();
    c = connectStorage(server.address);
    rg = await addResourceGroup(c, "limits");
  });
  afterAll(async () => {
    c?.close();
    await server?.stop();
  });

  /** Registers, expecting INVALID_ARGUMENT naming `limit`, and checks no job row appeared. */
  async function expectRefused(graph: Uint8Array, inputs: Uint8Array, limit: string, code = grpc.status.INVALID_ARGUMENT): Promise<string> {
    const rowsBefore = await countJobRows(databaseUrl);
    const error = (await c.jobs.registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: graph, compressedSerializedInputs: inputs }).then(
      () => {
        throw new Error(`expected a refusal naming ${limit}`);
      },
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(grpc.status[error.code], error.details).toBe(grpc.status[code]);
    if (code === grpc.status.INVALID_ARGUMENT) expect(error.details).toContain(limit);
    expect(await countJobRows(databaseUrl)).toBe(rowsBefore);
    return error.details;
  }

  const smallGraph = () => singleTask().builder.toCompressed();
  const smallInputs = () => compressInputs([new Uint8Array([1])]);

  it("max_request_bytes: a request above it is refused by grpc-js before it is buffered (RESOURCE_EXHAUSTED with the sizes)", async () => {
    const details = await expectRefused(randomBytes(MiB + MiB / 2), smallInputs(), "", grpc.status.RESOURCE_EXHAUSTED);
    expect(details).toMatch(/Received message larger than max \(\d+ vs 1048576\)/);
    // Just under the limit is decoded (and then refused for what it is: not zstd).
    const under = (await c.jobs
      .registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: randomBytes(MiB - 1024), compressedSerializedInputs: smallInputs() })
      .catch((e: unknown) => e)) as grpc.ServiceError;
    expect(under.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(under.details).not.toContain("max_request_bytes");
  });

  it("max_decompressed_bytes and max_task_graph_bytes: the zstd budgets, for the inputs and for the graph", async () => {
    // Valid JSON padded with whitespace: only the budget can refuse it. The graph's budget is the smaller key.
    const padded = new TextEncoder().encode(singleTask().builder.toJson() + " ".repeat(100 * KiB));
    await expectRefused(compressZstd(padded), smallInputs(), "runtime.limits.max_task_graph_bytes");
    await expectRefused(smallGraph(), compressInputs([new Uint8Array(100 * KiB)]), "runtime.limits.max_decompressed_bytes");
    // Concatenated frames share one budget (D15): two frames of 40 KiB each.
    const half = compressInputs([new Uint8Array(40 * KiB)]);
    const twoFrames = new Uint8Array([...half, ...half]);
    await expectRefused(smallGraph(), twoFrames, "runtime.limits.max_decompressed_bytes");
  });

  it("max_zstd_frames: more frames than the cap, in the graph or the inputs", async () => {
    const empty = compressZstd(new Uint8Array(0));
    const graph = smallGraph();
    await expectRefused(new Uint8Array([...graph, ...empty, ...empty]), smallInputs(), "runtime.limits.max_zstd_frames");
    await expectRefused(graph, new Uint8Array([...empty, ...empty, ...smallInputs()]), "runtime.limits.max_zstd_frames");
    // At the cap (two frames): accepted.
    const atCap = await c.jobs.registerJob({ resourceGroupId: rg, compressedSerializedTaskGraph: new Uint8Array([...graph, ...empty]), compressedSerializedInputs: smallInputs() });
    expect(atCap.jobId).toBeGreaterThan(0n);
  });

  it("max_task_graph_values: a graph with more JSON values than the cap", async () => {
    // One task (within max_tasks_per_job) with a long input list: many values, few tasks.
    const builder = new TaskGraphBuilder().task({ inputs: Array(80).fill(BYTES), outputs: [BYTES], taskFunc: simTaskFunc("a", 1) });
    const details = await expectRefused(builder.toCompressed(), compressInputs(Array.from({ length: 80 }, () => new Uint8Array(1))), "runtime.limits.max_task_graph_values");
    expect(details).toMatch(/task graph has more than 200 JSON values, above the limit of 200/);
  });

  it("max_tasks_per_job and max_dependencies_per_job: the graph's size", async () => {
    const four = flat(4);
    await expectRefused(four.builder.toCompressed(), compressInputs(four.inputs), "runtime.limits.max_tasks_per_job");
    // Three tasks (allowed) with three dependency edges (one too many).
    const builder = new TaskGraphBuilder()
      .task({ inputs: [BYTES], outputs: [BYTES, BYTES], taskFunc: simTaskFunc("a", 2) })
      .task({ outputs: [BYTES], sources: [[0, 0]], taskFunc: simTaskFunc("b", 1) })
      .task({ outputs: [BYTES], sources: [[0, 1], [1, 0]], taskFunc: simTaskFunc("c", 1) });
    await expectRefused(builder.toCompressed(), smallInputs(), "runtime.limits.max_dependencies_per_job");
    // At the limits exactly: accepted.
    const ok = new TaskGraphBuilder()
      .task({ inputs: [BYTES], outputs: [BYTES, BYTES], taskFunc: simTaskFunc("a", 2) })
      .task({ outputs: [BYTES], sources: [[0, 0]], taskFunc: simTaskFunc("b", 1) })
      .task({ outputs: [BYTES], sources: [[0, 1]], taskFunc: simTaskFunc("c", 1) });
    expect(await registerJob(c, rg, { builder: ok, inputs: [new Uint8Array([1])] })).toBeGreaterThan(0n);
  });

  it("max_payload_bytes_per_job: inputs above it are refused at registration", async () => {
    await expectRefused(smallGraph(), compressInputs([new Uint8Array(20 * KiB)]), "runtime.limits.max_payload_bytes_per_job");
  });

  it("max_payload_bytes_per_job: task outputs that would take a running job above it fail the job, naming the limit", async () => {
    const jobId = await registerJob(c, rg, singleTask({ seed: 5 }));
    await c.jobs.startJob({ jobId });
    const registration = (await c.liveness.registerExecutionManager({ ipAddress: "10.1.2.3" })).registration!;
    const taskId = { kind: { case: "index" as const, value: 0n } };
    const context = (
      await c.tasks.registerTaskInstance({ jobId, taskId, executionManagerId: registration.executionManagerId, sessionId: registration.sessionId })
    ).executionContext!;
    const error = (await c.tasks
      .reportTaskSuccess({
        jobId,
        taskId,
        taskInstanceId: context.taskInstanceId,
        executionManagerId: registration.executionManagerId,
        sessionId: registration.sessionId,
        serializedOutputs: encodeWireFrame([new Uint8Array(20 * KiB)]),
      })
      .catch((e: unknown) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toContain("runtime.limits.max_payload_bytes_per_job");
    expect((await c.jobs.getJobState({ jobId })).state).toBe(JobState.FAILED);
    expect((await c.jobs.getJobError({ jobId })).errorMessage).toContain("runtime.limits.max_payload_bytes_per_job");
  });

  it("still serves after every refusal", async () => {
    expect((await c.sessions.getSession({})).sessionId).toBeGreaterThan(0n);
    expect(server.running).toBe(true);
  });
});
