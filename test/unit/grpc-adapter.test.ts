import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskInstanceManagementService, JobOrchestrationService, JobState } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient, grpcImplementation, grpcServiceDefinition } from "../../src/grpc/adapter.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { invalidArgument } from "../../src/core/errors.ts";

const BIG_ID = (1n << 60n) + 12345n; // above 2^53: a JS number would round it
const MAX_U64 = (1n << 64n) - 1n;

describe("protobuf-es ↔ grpc-js adapter over real loopback gRPC", () => {
  let server: GrpcServer;
  let address: string;
  let serving = true;

  beforeAll(async () => {
    server = new GrpcServer({
      maxRequestBytes: 1024 * 1024,
      logger: silentLogger(),
      readiness: { notServingReason: () => (serving ? undefined : "recovering") },
    });
    server.addService(JobOrchestrationService, {
      registerJob: async (request) => ({ jobId: request.resourceGroupId + 1n }),
      startJob: async (request) => {
        if (request.jobId === 0n) throw invalidArgument("job id 0 is not valid");
        return { state: JobState.RUNNING };
      },
      cancelJob: async () => {
        throw new TypeError("a bug");
      },
      getJobState: async () => ({ state: JobState.READY }),
      getJobOutputs: async () => ({ serializedOutputs: new Uint8Array([1, 2, 3]) }),
      getJobError: async () => ({ errorMessage: "boom" }),
    });
    const port = await server.bind("127.0.0.1:0");
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await server.shutdown(1_000);
  });

  it("round-trips uint64 ids above 2^53 exactly", async () => {
    const client = createPromiseClient(JobOrchestrationService, address);
    try {
      expect((await client.registerJob({ resourceGroupId: BIG_ID })).jobId).toBe(BIG_ID + 1n);
      expect((await client.registerJob({ resourceGroupId: MAX_U64 - 1n })).jobId).toBe(MAX_U64);
    } finally {
      client.close();
    }
  });

  it("maps a StorageError to its status and message, and an unexpected error to INTERNAL", async () => {
    const client = createPromiseClient(JobOrchestrationService, address);
    try {
      await expect(client.startJob({ jobId: 0n })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: "job id 0 is not valid",
      });
      await expect(client.cancelJob({ jobId: 1n })).rejects.toMatchObject({
        code: grpc.status.INTERNAL,
        details: "storage service internal error",
      });
      expect(Array.from((await client.getJobOutputs({ jobId: 1n })).serializedOutputs)).toEqual([1, 2, 3]);
    } finally {
      client.close();
    }
  });

  it("answers UNAVAILABLE while not serving", async () => {
    const client = createPromiseClient(JobOrchestrationService, address);
    serving = false;
    try {
      await expect(client.getJobState({ jobId: 1n })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      serving = true;
      client.close();
    }
  });

  it("uses Spider's method paths", () => {
    const definition = grpcServiceDefinition(TaskInstanceManagementService);
    expect(Object.values(definition).map((m) => m.path)).toEqual([
      "/storage.TaskInstanceManagementService/RegisterTaskInstance",
      "/storage.TaskInstanceManagementService/ReportTaskSuccess",
      "/storage.TaskInstanceManagementService/ReportTaskFailure",
    ]);
    expect(() => grpcImplementation(TaskInstanceManagementService, {} as never, () => ({}))).toThrow(/no handler/);
  });
});
