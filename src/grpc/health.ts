/**
 * gRPC health checking (grpc.health.v1.Health, from `grpc-health-check`) on
 * the storage port: one status for "" (the whole server) and one per storage
 * service, all following the server's {@link HealthState} (NOT_SERVING during
 * start-up, standby, recovery and shutdown). Added to the grpc-js server
 * directly, so it answers while the storage services still refuse calls.
 *
 * Watch streams never end by themselves; at shutdown they are told
 * NOT_SERVING and then ended, so they do not hold the drain open. A health
 * request is a service name: one above {@link MAX_HEALTH_REQUEST_BYTES} is
 * refused undecoded, so a Watch cannot hold a large request for its life.
 */
import type * as grpc from "@grpc/grpc-js";
import { HealthImplementation, service as healthServiceDefinition, type ServingStatus } from "grpc-health-check";
import {
  ExecutionManagerLivenessService,
  InboundQueueService,
  JobOrchestrationService,
  ResourceGroupManagementService,
  SchedulerRegistrationService,
  SessionManagementService,
  TaskInstanceManagementService,
} from "../gen/storage/storage_pb.ts";
import type { HealthState } from "../observability/health.ts";

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

/** The health service's own definition (its descriptors feed reflection). */
export const HEALTH_SERVICE_DEFINITION = healthServiceDefinition as unknown as grpc.ServiceDefinition;

type WatchCall = grpc.ServerWritableStream<unknown, unknown>;

/** Largest health request decoded (a service name and its framing). */
export const MAX_HEALTH_REQUEST_BYTES = 4 * 1024;

/** A deserializer that refuses (grpc-js answers INTERNAL) requests above `maxBytes` without decoding them. */
function capped(deserialize: (bytes: Buffer) => unknown, maxBytes: number): (bytes: Buffer) => unknown {
  return (bytes) => {
    if (bytes.length > maxBytes) throw new Error(`health request of ${bytes.length} bytes is above ${maxBytes} bytes`);
    return deserialize(bytes);
  };
}

export class GrpcHealth {
  readonly #implementation: HealthImplementation;
  readonly #health: HealthState;
  readonly #names: readonly string[];
  readonly #watches = new Set<WatchCall>();
  #status: ServingStatus = "NOT_SERVING";

  constructor(health: HealthState, serviceNames: readonly string[] = STORAGE_SERVICE_NAMES) {
    this.#health = health;
    this.#names = ["", ...serviceNames];
    this.#implementation = new HealthImplementation(Object.fromEntries(this.#names.map((name) => [name, "NOT_SERVING"])));
    health.subscribe((status, phase) => {
      this.#set(status);
      if (phase === "stopping" || phase === "stopped") this.endWatches();
    });
  }

  addToServer(server: grpc.Server): void {
    this.#implementation.addToServer({
      addService: (definition, implementation) => {
        const watch = implementation["watch"] as ((call: WatchCall) => void) | undefined;
        const cappedDefinition: grpc.ServiceDefinition = Object.fromEntries(
          Object.entries(definition as unknown as grpc.ServiceDefinition).map(([name, method]) => [
            name,
            { ...method, requestDeserialize: capped(method.requestDeserialize, MAX_HEALTH_REQUEST_BYTES) },
          ]),
        );
        // Every answer first lets the health state catch up (the lease deadline), so none is stale.
        const fresh = Object.fromEntries(
          Object.entries(implementation as grpc.UntypedServiceImplementation).map(([name, handler]) => [
            name,
            (...args: unknown[]) => {
              this.#health.refresh();
              return (handler as (...a: unknown[]) => unknown)(...args);
            },
          ]),
        ) as grpc.UntypedServiceImplementation;
        server.addService(cappedDefinition, {
          ...fresh,
          ...(watch
            ? {
                watch: (call: WatchCall) => {
                  this.#health.refresh();
                  this.#watches.add(call);
                  call.once("cancelled", () => this.#watches.delete(call));
                  watch(call);
                },
              }
            : {}),
        });
      },
    });
  }

  /** Ends every open Watch stream (they have been sent the current status). */
  endWatches(): void {
    for (const call of this.#watches) {
      try {
        call.end();
      } catch {
        // Already gone.
      }
    }
    this.#watches.clear();
  }

  #set(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const name of this.#names) this.#implementation.setStatus(name, status);
  }
}
