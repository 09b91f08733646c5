/**
 * gRPC health checking (grpc.health.v1.Health: Check, Watch, List) on the
 * storage port: one status for "" (the whole server) and one per storage
 * service, all following the server's {@link HealthState} (NOT_SERVING during
 * start-up, standby, recovery and shutdown). Added to the grpc-js server
 * directly, so it answers while the storage services still refuse calls.
 *
 * Our own few lines over the protobuf-es code generated from
 * proto/grpc/health/v1/health.proto, answering as grpc-health-check does
 * (the tests' clients are that library's): it loaded a second protobuf
 * runtime (protobufjs and proto-loader) and parsed its health.proto on every
 * start, before the port's connections could be served — the largest single
 * cost of the start-up profile (issue 20.5).
 *
 * Watch streams never end by themselves; at shutdown they are told
 * NOT_SERVING and then ended, so they do not hold the drain open. A health
 * request is a service name: one above {@link MAX_HEALTH_REQUEST_BYTES} is
 * refused undecoded (grpc-js answers INTERNAL), so a Watch cannot hold a large
 * request for its life.
 */
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
} from "../gen/grpc/health/v1/health_pb.ts";
import {
  ExecutionManagerLivenessService,
  InboundQueueService,
  JobOrchestrationService,
  ResourceGroupManagementService,
  SchedulerRegistrationService,
  SessionManagementService,
  TaskInstanceManagementService,
} from "../gen/storage/storage_pb.ts";
import type { HealthState, ServingStatus } from "../observability/health.ts";

/** The fully qualified names of the seven storage services. */
export const STORAGE_SERVICE_NAMES: readonly string[] = [
  JobOrchestrationService,
  TaskInstanceManagementService,
  InboundQueueService,
  ResourceGroupManagementService,
  ExecutionManagerLivenessService,
  SchedulerRegistrationService,
  SessionManagementService,
].map((service) => service.typeName);

/** Largest health request decoded (a service name and its framing). */
export const MAX_HEALTH_REQUEST_BYTES = 4 * 1024;

type WatchCall = grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;

/** One method's grpc-js definition, from its generated descriptor; requests above the cap are refused undecoded. */
function method<I extends DescMessage, O extends DescMessage>(desc: DescMethod & { input: I; output: O }): grpc.MethodDefinition<MessageShape<I>, MessageShape<O>> {
  const { input, output } = desc;
  return {
    path: `/${Health.typeName}/${desc.name}`,
    requestStream: false,
    responseStream: desc.methodKind === "server_streaming",
    requestSerialize: (message) => Buffer.from(toBinary(input, message)),
    requestDeserialize: (bytes) => {
      // A throw here is grpc-js's INTERNAL, as for any request it cannot decode.
      if (bytes.length > MAX_HEALTH_REQUEST_BYTES) throw new Error(`health request of ${bytes.length} bytes is above ${MAX_HEALTH_REQUEST_BYTES} bytes`);
      return fromBinary(input, bytes);
    },
    responseSerialize: (message) => Buffer.from(toBinary(output, message)),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
    originalName: desc.name,
  };
}

/** The health service's grpc-js definition (the tests' clients use grpc-health-check's own). */
export const HEALTH_SERVICE_DEFINITION = {
  check: method(Health.method.check),
  watch: method(Health.method.watch),
  list: method(Health.method.list),
} satisfies grpc.ServiceDefinition;

const WIRE_STATUS: Record<ServingStatus, Status> = { SERVING: Status.SERVING, NOT_SERVING: Status.NOT_SERVING };

export class GrpcHealth {
  readonly #health: HealthState;
  readonly #names: ReadonlySet<string>;
  /** Open Watch streams and the service each one watches. */
  readonly #watches = new Map<WatchCall, string>();
  #status: Status = Status.NOT_SERVING;

  constructor(health: HealthState, serviceNames: readonly string[] = STORAGE_SERVICE_NAMES) {
    this.#health = health;
    this.#names = new Set(["", ...serviceNames]);
    health.subscribe((status, phase) => {
      this.#set(WIRE_STATUS[status]);
      if (phase === "stopping" || phase === "stopped") this.endWatches();
    });
  }

  addToServer(server: grpc.Server): void {
    server.addService(HEALTH_SERVICE_DEFINITION, {
      check: (call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: grpc.sendUnaryData<HealthCheckResponse>) => {
        const status = this.#statusOf(call.request.service);
        if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: `Health status unknown for service ${call.request.service}` });
        else callback(null, create(HealthCheckResponseSchema, { status }));
      },
      watch: (call: WatchCall) => {
        // Read (and refreshed) before the stream is listed, so a change the refresh makes is not sent twice.
        const status = this.#statusOf(call.request.service) ?? Status.SERVICE_UNKNOWN;
        call.write(create(HealthCheckResponseSchema, { status }));
        this.#watches.set(call, call.request.service);
        call.once("cancelled", () => this.#watches.delete(call));
      },
      list: (_call: grpc.ServerUnaryCall<unknown, HealthListResponse>, callback: grpc.sendUnaryData<HealthListResponse>) => {
        const status = this.#current();
        const statuses = Object.fromEntries([...this.#names].map((name) => [name, create(HealthCheckResponseSchema, { status })]));
        callback(null, create(HealthListResponseSchema, { statuses }));
      },
    });
  }

  /** Ends every open Watch stream (they have been sent the current status). */
  endWatches(): void {
    for (const call of this.#watches.keys()) {
      try {
        call.end();
      } catch {
        // Already gone.
      }
    }
    this.#watches.clear();
  }

  /** Every answer first lets the health state catch up (the lease deadline), so none is stale. */
  #current(): Status {
    this.#health.refresh();
    return this.#status;
  }

  #statusOf(service: string): Status | undefined {
    const status = this.#current();
    return this.#names.has(service) ? status : undefined;
  }

  #set(status: Status): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const [call, service] of this.#watches) if (this.#names.has(service)) call.write(create(HealthCheckResponseSchema, { status }));
  }
}
