/**
 * Answers that never reach their caller, and requests that must not pin
 * memory, over real gRPC on loopback (issue #16 F, #17 items 3 and 8): the
 * engine on MariaDB behind the real GrpcServer and storage services, in this
 * process so a test can hold a registration until the server itself has seen
 * its call cancelled.
 */
import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { varint } from "../../testkit/protobuf-wire.ts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MariaDbJobStore } from "../../src/db/mariadb-job-store.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { createDb, type Db } from "../../src/db/connection.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { JobState, PollReadyTasksRequestSchema } from "../../src/gen/storage/storage_pb.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { addStorageServices } from "../../src/grpc/storage-services.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { StorageService } from "../../src/service/storage-service.ts";
import type { RegisterTaskInstanceRequest } from "../../src/service/register-task-instance.ts";
import { addResourceGroup, compressInputs } from "../../testkit/sim/cluster.ts";
import { connectStorage, type StorageClients } from "../../testkit/sim/storage-clients.ts";
import { testDatabase } from "../../testkit/test-database.ts";
import { liveInstances, queueStats } from "../../src/service/inspect-engine.ts";
import { refillQueue } from "../../src/service/refill-queue.ts";

// The real services over the real engine; only a held registration is delayed, until the server saw its caller leave.
const hold = vi.hoisted(() => ({ untilCancelled: false }));
vi.mock("../../src/service/register-task-instance.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/service/register-task-instance.ts")>();
  return {
    ...original,
    registerTaskInstance: async (engine: Parameters<typeof original.registerTaskInstance>[0], request: RegisterTaskInstanceRequest) => {
      const signal = request.signal;
      if (hold.untilCancelled && signal !== undefined && !signal.aborted) {
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      }
      return original.registerTaskInstance(engine, request);
    },
  };
});

const KiB = 1024;
const MAX_RESPONSE_BYTES = 8 * KiB;
const MAX_REQUEST_BYTES = 256 * KiB;

async function refusal(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  return (await promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e,
  )) as grpc.ServiceError;
}

describe("undelivered answers and pinned requests over real gRPC", () => {
  let db: Db;
  let service: StorageService;
  let server: GrpcServer;
  let address: string;
  let c: StorageClients;
  let rg: bigint;
  let emId: bigint;
  /** When set, RegisterTaskInstance waits for its call to be cancelled before registering. */

  beforeAll(async () => {
    db = createDb({ url: await testDatabase("undelivered"), maxConnections: 8 });
    await migrateToLatest(db);
    service = new StorageService({
      store: new MariaDbJobStore(db),
      sessionId: 77n,
      logger: silentLogger(),
      config: { limits: { maxResponseBytes: MAX_RESPONSE_BYTES } },
    });
    refillQueue(service.engine);
    service.start();
    server = new GrpcServer({ maxRequestBytes: MAX_REQUEST_BYTES, logger: silentLogger(), readiness: { notServingReason: () => undefined } });
    addStorageServices(server, () => service);
    address = `127.0.0.1:${await server.bind("127.0.0.1:0")}`;
    c = connectStorage(address);
    rg = await addResourceGroup(c, "undelivered");
    emId = (await c.liveness.registerExecutionManager({ ipAddress: "10.0.0.7" })).registration!.executionManagerId;
  });

  afterAll(async () => {
    c?.close();
    await server?.shutdown(1_000);
    await service?.stop();
    await db?.destroy();
  });

  async function startJob(builder: TaskGraphBuilder, inputs: Uint8Array[]): Promise<bigint> {
    const { jobId } = await c.jobs.registerJob({
      resourceGroupId: rg,
      compressedSerializedTaskGraph: builder.toCompressed(),
      compressedSerializedInputs: compressInputs(inputs),
    });
    expect((await c.jobs.startJob({ jobId })).state).toBe(JobState.RUNNING);
    return jobId;
  }

  async function pollOne(waitMs: bigint): Promise<bigint[]> {
    const response = await c.queue.pollReadyTasks({ maxItems: 10n, waitMs });
    return response.tasks!.tasks.map((task) => task.jobId);
  }

  const register = (jobId: bigint, options: { deadlineMs?: number } = {}) =>
    c.tasks.registerTaskInstance(
      { sessionId: 77n, jobId, taskId: { kind: { case: "index", value: 0n } }, executionManagerId: emId },
      options,
    );

  it("a registration whose caller's deadline passed is withdrawn: the task is queued again, no retry consumed", async () => {
    const jobId = await startJob(new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry: 0 } }), [new Uint8Array([1])]);
    expect(await pollOne(0n)).toEqual([jobId]);
    hold.untilCancelled = true;
    try {
      const error = await refusal(register(jobId, { deadlineMs: 200 }));
      expect(grpc.status[error.code]).toBe("DEADLINE_EXCEEDED");
      // The withdrawal re-queues the task: a waiting poll receives it (the event, not a time window).
      expect(await pollOne(30_000n)).toEqual([jobId]);
    } finally {
      hold.untilCancelled = false;
    }
    expect(liveInstances(service.engine)).toEqual([]);
    const context = (await register(jobId)).executionContext!;
    await c.tasks.reportTaskSuccess({
      sessionId: 77n,
      jobId,
      taskId: { kind: { case: "index", value: 0n } },
      taskInstanceId: context.taskInstanceId,
      executionManagerId: emId,
      serializedOutputs: encodeWireFrame([new Uint8Array([9])]),
    });
    expect((await c.jobs.getJobState({ jobId })).state).toBe(JobState.SUCCEEDED);
  });

  it("an answer above max_response_bytes is refused with FAILED_PRECONDITION naming the limit, and the job fails", async () => {
    const jobId = await startJob(new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] }), [randomBytes(MAX_RESPONSE_BYTES)]);
    expect(await pollOne(0n)).toEqual([jobId]);
    const error = await refusal(register(jobId));
    expect(grpc.status[error.code]).toBe("FAILED_PRECONDITION");
    expect(error.details).toContain("runtime.limits.max_response_bytes");
    expect((await c.jobs.getJobState({ jobId })).state).toBe(JobState.FAILED);
    expect((await c.jobs.getJobError({ jobId })).errorMessage).toContain("runtime.limits.max_response_bytes");
    expect(liveInstances(service.engine)).toEqual([]);
  });

  it("GetJobOutputs above max_response_bytes answers INVALID_ARGUMENT naming the limit", async () => {
    const jobId = await startJob(new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] }), [new Uint8Array([1])]);
    expect(await pollOne(0n)).toEqual([jobId]);
    const context = (await register(jobId)).executionContext!;
    await c.tasks.reportTaskSuccess({
      sessionId: 77n,
      jobId,
      taskId: { kind: { case: "index", value: 0n } },
      taskInstanceId: context.taskInstanceId,
      executionManagerId: emId,
      serializedOutputs: encodeWireFrame([randomBytes(MAX_RESPONSE_BYTES)]),
    });
    const error = await refusal(c.jobs.getJobOutputs({ jobId }));
    expect(grpc.status[error.code]).toBe("INVALID_ARGUMENT");
    expect(error.details).toContain("runtime.limits.max_response_bytes");
  });

  it("a poll request above max_control_request_bytes is refused undecoded, naming the cap, instead of waiting", async () => {
    // A valid poll plus an unknown field of 100 KiB: under max_request_bytes, far over the 64 KiB cap.
    const poll = toBinary(PollReadyTasksRequestSchema, create(PollReadyTasksRequestSchema, { maxItems: 1n, waitMs: 60_000n }));
    const unknownField = new Uint8Array([0xfa, 0x3f, ...varint(100 * KiB)]); // field 1023, wire type 2
    const body = Buffer.concat([poll, unknownField, Buffer.alloc(100 * KiB)]);
    const error = await refusal(rawCall(address, "/storage.InboundQueueService/PollReadyTasks", body));
    expect(grpc.status[error.code]).toBe("INVALID_ARGUMENT");
    expect(error.details).toMatch(/request of \d+ bytes is above the limit of 65536 bytes for this method \(runtime\.limits\.max_control_request_bytes\)/);
    expect(queueStats(service.engine).task.waitingPollers).toBe(0);
  });

  it("a gzip request to a method without payload is decompressed no further than max_control_request_bytes", async () => {
    // 200 KiB of zeros: tiny on the wire, under max_request_bytes (256 KiB), far over the 64 KiB cap of polls.
    const error = await refusal(rawCall(address, "/storage.InboundQueueService/PollReadyTasks", Buffer.alloc(200 * KiB), { gzip: true }));
    expect(grpc.status[error.code]).toBe("RESOURCE_EXHAUSTED");
    expect(error.details).toBe("Received message that decompresses to a size larger than 65536");
    expect(queueStats(service.engine).task.waitingPollers).toBe(0);
  });

  it("a gzip request is decompressed no further than max_request_bytes", async () => {
    // RegisterJob may carry max_request_bytes; this one is tiny on the wire and 1.5 × that decompressed.
    const body = Buffer.alloc(MAX_REQUEST_BYTES + MAX_REQUEST_BYTES / 2);
    const error = await refusal(rawCall(address, "/storage.JobOrchestrationService/RegisterJob", body, { gzip: true }));
    expect(grpc.status[error.code]).toBe("RESOURCE_EXHAUSTED");
    expect(error.details).toBe(`Received message that decompresses to a size larger than ${MAX_REQUEST_BYTES}`);
  });
});


/** A unary call with a hand-made body (gzip-compressed on the wire by grpc-js when `gzip`). */
function rawCall(address: string, path: string, body: Buffer, options: { gzip?: boolean } = {}): Promise<Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    ...(options.gzip ? { "grpc.default_compression_algorithm": 2 } : {}),
  });
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      body,
      (error, response) => {
        client.close();
        if (error) reject(error);
        else resolve(response!);
      },
    );
  });
}
