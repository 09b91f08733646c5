/**
 * The gRPC server: one port for every service. Until the service is ready
 * (start-up, recovery, standby) every call answers UNAVAILABLE, which Spider's
 * clients retry (DECISIONS D2).
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import { unavailable } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";
import { grpcImplementation, grpcServiceDefinition, type ServiceHandlers, type UnaryHandler } from "./adapter.ts";
import { errorToStatus } from "./status.ts";

export interface Readiness {
  /** Undefined when serving; otherwise why not (shown to callers). */
  notServingReason(): string | undefined;
}

export interface GrpcServerOptions {
  readonly maxRequestBytes: number;
  readonly logger: Logger;
  readonly readiness: Readiness;
}

export class GrpcServer {
  readonly server: grpc.Server;
  readonly #options: GrpcServerOptions;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": options.maxRequestBytes,
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
      grpcServiceDefinition(service),
      grpcImplementation(service, gated as ServiceHandlers<S>, (error, method) => errorToStatus(error, method, logger)),
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
