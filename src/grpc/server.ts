/**
 * The gRPC server: one port for every service. Until the service is ready
 * (start-up, recovery, standby) every call answers UNAVAILABLE, which Spider's
 * clients retry (DECISIONS D2). Services added with `alwaysServing`, and the
 * health and reflection services (added to `server` directly), answer at once.
 *
 * Request size (DECISIONS D5): grpc-js refuses a message above its
 * `grpc.max_receive_message_length` with RESOURCE_EXHAUSTED before any of our
 * code runs. So the transport limit is set to twice the configured limit (plus
 * 1 MiB), and requests between the two are refused by the adapter with
 * INVALID_ARGUMENT naming runtime.limits.max_request_bytes; only requests above
 * the transport limit still get grpc-js's RESOURCE_EXHAUSTED.
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import { unavailable } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";
import { grpcImplementation, grpcServiceDefinition, type CallObserver, type ServiceHandlers, type UnaryHandler } from "./adapter.ts";
import { errorToStatus } from "./status.ts";

export interface Readiness {
  /** Undefined when serving; otherwise why not (shown to callers). */
  notServingReason(): string | undefined;
}

export interface GrpcServerOptions {
  /** runtime.limits.max_request_bytes. */
  readonly maxRequestBytes: number;
  readonly logger: Logger;
  readonly readiness: Readiness;
  /** Hears about every finished call (metrics, request logging). */
  readonly observer?: CallObserver;
}

/** The configuration key named when a request is too large. */
export const MAX_REQUEST_BYTES_KEY = "runtime.limits.max_request_bytes";

/** grpc-js's own receive limit: above the configured one, so the adapter can answer INVALID_ARGUMENT. */
export function transportReceiveLimit(maxRequestBytes: number): number {
  return Math.min(2 ** 31 - 1, 2 * maxRequestBytes + 1024 * 1024);
}

export class GrpcServer {
  readonly server: grpc.Server;
  readonly #options: GrpcServerOptions;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": transportReceiveLimit(options.maxRequestBytes),
      "grpc.max_send_message_length": -1,
    });
  }

  /** Adds a service whose calls are refused with UNAVAILABLE until ready. */
  addService<S extends GenServiceMethods>(service: GenService<S>, handlers: ServiceHandlers<S>, options: { alwaysServing?: boolean } = {}): void {
    const gated: Record<string, UnaryHandler<never, never>> = {};
    for (const [name, handler] of Object.entries(handlers as Record<string, UnaryHandler<never, never>>)) {
      gated[name] = options.alwaysServing
        ? handler
        : async (request, call) => {
            const reason = this.#options.readiness.notServingReason();
            if (reason !== undefined) throw unavailable(`storage service not ready: ${reason}`);
            return handler(request, call);
          };
    }
    const logger = this.#options.logger;
    this.server.addService(
      grpcServiceDefinition(service, { requestLimit: { maxBytes: this.#options.maxRequestBytes, name: MAX_REQUEST_BYTES_KEY } }),
      grpcImplementation(service, gated as ServiceHandlers<S>, (error, method) => errorToStatus(error, method, logger), this.#options.observer),
    );
  }

  /** Binds and returns the bound port (useful with port 0). */
  bind(address: string, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
    });
  }

  /** Stops taking calls; waits for in-flight calls up to `deadlineMs`, then cancels them. */
  async shutdown(deadlineMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, deadlineMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
