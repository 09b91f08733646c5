/** Promise clients for every storage service at one address, as Spider's components hold them. */
import type * as grpc from "@grpc/grpc-js";
import { createPromiseClient, type PromiseClient } from "../../src/grpc/adapter.ts";
import {
  ExecutionManagerLivenessService,
  InboundQueueService,
  JobOrchestrationService,
  ResourceGroupManagementService,
  SchedulerRegistrationService,
  SessionManagementService,
  TaskInstanceManagementService,
} from "../../src/gen/storage/storage_pb.ts";

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

/**
 * Spider's components (tonic) reconnect when their next call needs the channel;
 * grpc-js backs off exponentially (1 s × 1.6ⁿ) after a server restart, which
 * would make a simulated manager miss heartbeats for reasons no real one has.
 */
const RECONNECT_LIKE_SPIDER: grpc.ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 500,
};

export function connectStorage(address: string, credentials?: grpc.ChannelCredentials): StorageClients {
  const clients = {
    jobs: createPromiseClient(JobOrchestrationService, address, credentials, RECONNECT_LIKE_SPIDER),
    tasks: createPromiseClient(TaskInstanceManagementService, address, credentials, RECONNECT_LIKE_SPIDER),
    queue: createPromiseClient(InboundQueueService, address, credentials, RECONNECT_LIKE_SPIDER),
    resourceGroups: createPromiseClient(ResourceGroupManagementService, address, credentials, RECONNECT_LIKE_SPIDER),
    liveness: createPromiseClient(ExecutionManagerLivenessService, address, credentials, RECONNECT_LIKE_SPIDER),
    schedulers: createPromiseClient(SchedulerRegistrationService, address, credentials, RECONNECT_LIKE_SPIDER),
    sessions: createPromiseClient(SessionManagementService, address, credentials, RECONNECT_LIKE_SPIDER),
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
