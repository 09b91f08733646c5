/**
 * The gRPC server: one port for every service. Until the service is ready
 * (start-up, recovery, standby) every call answers UNAVAILABLE, which Spider's
 * clients retry (DECISIONS D2). Services added with `alwaysServing`, and the
 * health and reflection services (added to `server` directly), answer at once.
 *
 * Unary calls of the services added here are answered by the unary fast
 * path (unary-fast-path.ts) unless compressed; it applies every limit below
 * at the same point and in grpc-js's words.
 *
 * Request size (DECISIONS D5): grpc-js refuses a message above its
 * `grpc.max_receive_message_length` with RESOURCE_EXHAUSTED before any of our
 * code runs, and that same number bounds what a gzip or deflate message may
 * decompress to. It is the configured limit itself
 * (runtime.limits.max_request_bytes): a request can make the server hold no
 * more than that. Only the methods that carry payloads (`payloadMethods` of
 * {@link GrpcServer.addService}: job submissions, task reports) may reach it;
 * every other request — polls, heartbeats, registrations, queries, the admin
 * API — is refused above runtime.limits.max_control_request_bytes (64 KiB) by
 * the adapter, undecoded, with INVALID_ARGUMENT naming that key. So a long
 * poll cannot pin a large request for its whole wait. A gzip or deflate
 * request to such a method is decompressed no further than that cap either
 * (grpc-js answers RESOURCE_EXHAUSTED): see {@link capDecompression}.
 *
 * `grpc.max_concurrent_streams` bounds the calls in flight on one connection
 * (runtime.limits.max_concurrent_streams); clients queue the rest.
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import { unavailable } from "../core/errors.ts";
import type { Logger } from "../observability/logger.ts";
import {
  grpcImplementation,
  grpcServiceDefinition,
  RejectedRequest,
  type CallObserver,
  type ServiceHandlers,
  type UnaryHandler,
} from "./adapter.ts";
import type { EarlyListener } from "./early-listener.ts";
import { errorToStatus } from "./status.ts";
import { renewHttp2StreamTables } from "./http2-stream-tables.ts";
import { installUnaryFastPath, UnaryFastPath } from "./unary-fast-path.ts";

export interface Readiness {
  /** Undefined when serving; otherwise why not (shown to callers). */
  notServingReason(): string | undefined;
}

export interface GrpcServerOptions {
  /** runtime.limits.max_request_bytes: the largest request, decompressed, of a payload method. */
  readonly maxRequestBytes: number;
  /** runtime.limits.max_control_request_bytes: the largest request of any other method. Default 64 KiB. */
  readonly maxControlRequestBytes?: number;
  /** runtime.limits.max_concurrent_streams: calls in flight per connection. Default {@link DEFAULT_MAX_CONCURRENT_STREAMS}. */
  readonly maxConcurrentStreams?: number;
  readonly logger: Logger;
  readonly readiness: Readiness;
  /** Hears about every finished call (metrics, request logging). */
  readonly observer?: CallObserver;
  /**
   * Serve the unary calls of services added here straight from node:http2
   * (src/grpc/unary-fast-path.ts) rather than through grpc-js's per-call
   * machinery. Default true; runtime.grpc.unary_fast_path.
   */
  readonly unaryFastPath?: boolean;
}

/** The configuration key named when a request is too large. */
export const MAX_REQUEST_BYTES_KEY = "runtime.limits.max_request_bytes";
/** The configuration key named when a request of a method without payload is too large. */
export const MAX_CONTROL_REQUEST_BYTES_KEY = "runtime.limits.max_control_request_bytes";
export const DEFAULT_MAX_CONTROL_REQUEST_BYTES = 64 * 1024;
export const DEFAULT_MAX_CONCURRENT_STREAMS = 1_000;

export class GrpcServer {
  readonly server: grpc.Server;
  readonly #options: GrpcServerOptions;
  /** Paths of the payload methods (`/storage.JobOrchestrationService/RegisterJob`); every other call is capped. */
  readonly #payloadPaths = new Set<string>();
  readonly #controlLimit: number;
  /** Undefined when off, or when grpc-js's server did not look as expected. */
  readonly #fastPath: UnaryFastPath | undefined;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#controlLimit = Math.min(options.maxControlRequestBytes ?? DEFAULT_MAX_CONTROL_REQUEST_BYTES, options.maxRequestBytes);
    renewHttp2StreamTables({
      onUnsupported: (reason) => options.logger.warn({ reason }, "HTTP/2 stream tables are not renewed on this Node (src/grpc/http2-stream-tables.ts): calls promote more memory, which costs GC CPU"),
    });
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": options.maxRequestBytes,
      "grpc.max_send_message_length": -1,
      "grpc.max_concurrent_streams": options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
      // Health and reflection (added to `server` directly) are capped too: their requests are tiny.
      interceptors: [capDecompression(this.#payloadPaths, this.#controlLimit)],
    });
    if (options.unaryFastPath ?? true) {
      const fastPath = new UnaryFastPath(options.maxRequestBytes);
      const refusal = installUnaryFastPath(this.server, fastPath);
      if (refusal === undefined) this.#fastPath = fastPath;
      else options.logger.warn({ reason: refusal }, "unary calls go through grpc-js's full call path on this grpc-js (src/grpc/unary-fast-path.ts): each costs more CPU");
    }
  }

  /**
   * Adds a service whose calls are refused with UNAVAILABLE until ready.
   * `payloadMethods` (local names, e.g. "registerJob") may take requests up to
   * max_request_bytes; the others up to max_control_request_bytes.
   */
  addService<S extends GenServiceMethods>(
    service: GenService<S>,
    handlers: ServiceHandlers<S>,
    options: { alwaysServing?: boolean; payloadMethods?: readonly (keyof ServiceHandlers<S> & string)[] } = {},
  ): void {
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
    const definition = grpcServiceDefinition(service, { requestLimit: { maxBytes: this.#options.maxRequestBytes, name: MAX_REQUEST_BYTES_KEY } });
    const controlLimit = this.#controlLimit;
    const payloadMethods = new Set<string>(options.payloadMethods ?? []);
    for (const [name, method] of Object.entries(definition)) {
      if (payloadMethods.has(name)) {
        this.#payloadPaths.add(method.path);
        continue;
      }
      method.requestDeserialize = capRequest(method.requestDeserialize, controlLimit);
    }
    const implementation = grpcImplementation(service, gated as ServiceHandlers<S>, (error, method) => errorToStatus(error, method, logger), this.#options.observer);
    this.server.addService(definition, implementation);
    this.#fastPath?.addService(definition, implementation);
  }

  /** Binds and returns the bound port (useful with port 0). */
  async bind(address: string, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    // grpc-js drains a port by the address it is bound at, with the real port for port 0.
    this.#boundAddresses.push(address.replace(/:\d+$/, `:${port}`));
    return port;
  }

  /**
   * Serves the connections of a port bound already (the serve command binds it
   * before loading the server): those held while loading, then every later one.
   * Returns the port.
   */
  adopt(listener: EarlyListener, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): number {
    const injector = this.server.createConnectionInjector(credentials);
    this.#injectors.push(injector);
    this.#listeners.push(listener);
    listener.handOff((socket) => injector.injectConnection(socket));
    return listener.port;
  }

  /**
   * Closes every client connection (HTTP/2 GOAWAY; calls in flight get
   * `graceMs` to finish) and keeps listening: clients reconnect, and a load
   * balancer that checks health sends them to the server that now serves.
   */
  drainConnections(graceMs: number): void {
    for (const address of this.#boundAddresses) this.server.drain(address, graceMs);
    for (const injector of this.#injectors) injector.drain(graceMs);
  }

  readonly #boundAddresses: string[] = [];
  readonly #listeners: EarlyListener[] = [];
  readonly #injectors: ReturnType<grpc.Server["createConnectionInjector"]>[] = [];

  /** Stops taking calls; waits for in-flight calls up to `deadlineMs`, then cancels them. */
  async shutdown(deadlineMs: number): Promise<void> {
    // An adopted port stops accepting first; grpc-js closes the connections it was given.
    for (const listener of this.#listeners) listener.close();
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

/** Refuses a request above `maxBytes` undecoded: the buffer is dropped at once, whatever the call then waits for. */
function capRequest(deserialize: (bytes: Buffer) => unknown, maxBytes: number): (bytes: Buffer) => unknown {
  return (bytes) =>
    bytes.length > maxBytes
      ? new RejectedRequest(`request of ${bytes.length} bytes is above the limit of ${maxBytes} bytes for this method (${MAX_CONTROL_REQUEST_BYTES_KEY})`)
      : deserialize(bytes);
}

/**
 * grpc-js decompresses a gzip/deflate request up to the server-wide receive
 * limit before any deserializer sees it; for a method without payload that
 * would be max_request_bytes (64 MiB) held per call. grpc-js has no
 * per-method limit, so this interceptor lowers the limit of the call itself
 * (the `maxReceiveMessageSize` its decompression reads, not part of grpc-js's
 * typed API) before the request is read; it leaves calls alone if that field
 * ever disappears. test/e2e/undelivered-answers.test.ts notices if it stops working.
 */
function capDecompression(payloadPaths: ReadonlySet<string>, limit: number): grpc.ServerInterceptor {
  return (method, call) => {
    const base = call as unknown as { maxReceiveMessageSize?: unknown };
    if (!payloadPaths.has(method.path) && typeof base.maxReceiveMessageSize === "number" && base.maxReceiveMessageSize > limit) {
      base.maxReceiveMessageSize = limit;
    }
    return new grpc.ServerInterceptingCall(call); // passes everything through
  };
}
