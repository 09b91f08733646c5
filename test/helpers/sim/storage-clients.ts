/** Promise clients for every storage service at one address, as Spider's components hold them. */
import type * as grpc from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "../../../src/grpc/adapter.ts";
import {
  ExecutionManagerLivenessService,
  InboundQueueService,
  JobOrchestrationService,
  ResourceGroupManagementService,
  SchedulerRegistrationService,
  SessionManagementService,
  TaskInstanceManagementService,
} from "../../../src/gen/storage/storage_pb.ts";

export interface StorageClients {
  readonly jobs: PromiseClient<(typeof JobOrchestrationService)["method"]>;
  readonly tasks: PromiseClient<(typeof TaskInstanceManagementService)["method"]>;
  readonly queue: PromiseClient<(typeof InboundQueueService)["method"]>;
  readonly resourceGroups: PromiseClient<(typeof ResourceGroupManagementService)["method"]>;
  readonly liveness: PromiseClient<(typeof ExecutionManagerLivenessService)["method"]>;
  readonly schedulers: PromiseClient<(typeof SchedulerRegistrationService)["method"]>;
  readonly sessions: PromiseClient<(typeof SessionManagementService)["method"]>;
  close(): void;
}

export function connectStorage(address: string, credentials?: grpc.ChannelCredentials): StorageClients {
  const clients = {
    jobs: createPromiseClient(JobOrchestrationService, address, credentials),
    tasks: createPromiseClient(TaskInstanceManagementService, address, credentials),
    queue: createPromiseClient(InboundQueueService, address, credentials),
    resourceGroups: createPromiseClient(ResourceGroupManagementService, address, credentials),
    liveness: createPromiseClient(ExecutionManagerLivenessService, address, credentials),
    schedulers: createPromiseClient(SchedulerRegistrationService, address, credentials),
    sessions: createPromiseClient(SessionManagementService, address, credentials),
  };
  return {
    ...clients,
    close: () => {
      for (const client of Object.values(clients)) client.close();
    },
  };
}

/** The gRPC status code of an error thrown by a promise client, or undefined. */
export function statusCode(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "code" in error ? (error as grpc.ServiceError).code : undefined;
}
