/**
 * Bridges protobuf-es descriptors and grpc-js: a generated service descriptor
 * becomes a grpc-js service definition (paths like
 * `/storage.JobOrchestrationService/RegisterJob`, binary protobuf bodies), and
 * a map of async handlers becomes a grpc-js implementation. Also builds typed
 * promise clients, used by the CLI, the tests and the benchmarks.
 *
 * On the server side this is the one place every call passes through, so it
 * also refuses requests above the configured size or that do not decode (as
 * INVALID_ARGUMENT, DECISIONS D5, instead of grpc-js's RESOURCE_EXHAUSTED /
 * INTERNAL) and reports each finished call (method, status, duration, response
 * size) to an observer: metrics and request logging.
 */
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";
import { invalidArgument } from "../core/errors.ts";

type UnaryMethods<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]["methodKind"] extends "unary" ? K : never;
}[keyof S];

/** The server side of one unary method: return the response or throw. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  call: grpc.ServerUnaryCall<MessageShape<I>, MessageShape<O>>,
) => Promise<MessageInitShape<O>>;

export type ServiceHandlers<S extends GenServiceMethods> = {
  [K in UnaryMethods<S>]: UnaryHandler<S[K]["input"], S[K]["output"]>;
};

/**
 * A request the server refused to decode: larger than the configured limit,
 * or not a valid message. Handlers never see it; the implementation answers
 * INVALID_ARGUMENT with its reason.
 */
export class RejectedRequest {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

export interface RequestLimit {
  /** Requests above this many bytes are refused without being decoded. */
  readonly maxBytes: number;
  /** The configuration key, named in the refusal. */
  readonly name: string;
}

/**
 * grpc-js method definitions for every method of a protobuf-es service. With
 * `requestLimit` (servers), a request above the limit or one that does not
 * decode becomes a {@link RejectedRequest} instead of a decoding error.
 */
export function grpcServiceDefinition(service: DescService, options: { requestLimit?: RequestLimit } = {}): grpc.ServiceDefinition {
  const limit = options.requestLimit;
  const definition: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") throw new Error(`${service.typeName}.${method.name}: only unary methods are supported`);
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (message: MessageShape<DescMessage>) => Buffer.from(toBinary(method.input, message)),
      requestDeserialize:
        limit === undefined
          ? (bytes: Buffer) => fromBinary(method.input, bytes)
          : (bytes: Buffer) => {
              if (bytes.length > limit.maxBytes) {
                return new RejectedRequest(`request of ${bytes.length} bytes is above the limit of ${limit.maxBytes} bytes (${limit.name})`);
              }
              try {
                return fromBinary(method.input, bytes);
              } catch (error) {
                const reason = error instanceof Error ? error.message : String(error);
                return new RejectedRequest(`request is not a valid ${method.input.typeName}: ${reason.length > 200 ? `${reason.slice(0, 200)}…` : reason}`);
              }
            },
      // The server implementation hands over bytes it serialized itself (to learn their size).
      responseSerialize: (message: MessageShape<DescMessage> | Uint8Array) =>
        message instanceof Uint8Array ? asBuffer(message) : Buffer.from(toBinary(method.output, message)),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      originalName: method.name,
    };
  }
  return definition;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What the server learns about each finished call. */
export interface CallOutcome {
  /** `storage.JobOrchestrationService/RegisterJob`. */
  readonly method: string;
  readonly code: grpc.status;
  readonly durationMs: number;
  /** The decoded request (undefined when it was refused undecoded). */
  readonly request: unknown;
  /** Bytes of the response message (0 on error). */
  readonly responseBytes: number;
  /** The error a failed call threw. */
  readonly error?: unknown;
}

export type CallObserver = (outcome: CallOutcome) => void;

/**
 * Turns async handlers into a grpc-js implementation. A thrown error goes to
 * `toStatus`, which should turn anything into a status; a handler can never
 * crash the process: should `toStatus`, `observe` or grpc-js itself throw
 * while answering (as grpc-js does for details it cannot encode), the call
 * is answered with a short generic status instead. `observe` (optional)
 * hears about every finished call.
 */
export function grpcImplementation<S extends GenServiceMethods>(
  service: GenService<S>,
  handlers: ServiceHandlers<S>,
  toStatus: (error: unknown, method: string) => Partial<grpc.StatusObject>,
  observe?: CallObserver,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const handler = (handlers as Record<string, UnaryHandler<DescMessage, DescMessage>>)[method.localName];
    if (handler === undefined) throw new Error(`${service.typeName}.${method.name} has no handler`);
    const fullName = `${service.typeName}/${method.name}`;
    implementation[method.localName] = (
      call: grpc.ServerUnaryCall<MessageShape<DescMessage>, MessageShape<DescMessage>>,
      callback: grpc.sendUnaryData<MessageShape<DescMessage>>,
    ) => {
      const startedAt = performance.now();
      const request: unknown = call.request;
      let answered = false;
      const answerGeneric = (code: grpc.status) => {
        if (answered) return;
        answered = true;
        try {
          callback({ code, details: GENERIC_FAILURE_DETAILS } as grpc.ServiceError);
        } catch {
          // The call is gone (cancelled, stream closed): nobody to answer.
        }
      };
      const fail = (error: unknown) => {
        let status: Partial<grpc.StatusObject>;
        try {
          status = toStatus(error, fullName);
        } catch {
          status = { code: grpc.status.INTERNAL, details: GENERIC_FAILURE_DETAILS };
        }
        try {
          observe?.({
            method: fullName,
            code: status.code ?? grpc.status.UNKNOWN,
            durationMs: performance.now() - startedAt,
            request: request instanceof RejectedRequest ? undefined : request,
            responseBytes: 0,
            error,
          });
        } catch {
          // An observer's failure must not keep the caller from its answer.
        }
        try {
          answered = true;
          callback(status as grpc.ServiceError);
        } catch {
          answered = false;
          answerGeneric(status.code ?? grpc.status.INTERNAL);
        }
      };
      let promise: Promise<MessageInitShape<DescMessage>>;
      try {
        if (request instanceof RejectedRequest) throw invalidArgument(request.reason);
        promise = handler(call.request, call);
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(
        (init) => {
          let bytes: Uint8Array;
          try {
            bytes = toBinary(method.output, create(method.output, init));
          } catch (error) {
            fail(error);
            return;
          }
          try {
            observe?.({ method: fullName, code: grpc.status.OK, durationMs: performance.now() - startedAt, request, responseBytes: bytes.length });
          } catch {
            // As in fail: the answer still goes out.
          }
          try {
            answered = true;
            // responseSerialize passes bytes through (see grpcServiceDefinition).
            callback(null, bytes as unknown as MessageShape<DescMessage>);
          } catch {
            answered = false;
            answerGeneric(grpc.status.INTERNAL);
          }
        },
        fail,
      );
    };
  }
  return implementation;
}

/** What a call is answered with when its own status could not be sent. */
export const GENERIC_FAILURE_DETAILS = "storage service internal error";

/** A typed promise client: one async function per unary method. */
export type PromiseClient<S extends GenServiceMethods> = {
  [K in UnaryMethods<S>]: (
    request: MessageInitShape<S[K]["input"]>,
    options?: { deadlineMs?: number; metadata?: grpc.Metadata },
  ) => Promise<MessageShape<S[K]["output"]>>;
} & { readonly grpcClient: grpc.Client; close(): void };

export function createPromiseClient<S extends GenServiceMethods>(
  service: GenService<S>,
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  channelOptions: grpc.ChannelOptions = {},
): PromiseClient<S> {
  const Constructor = grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.typeName);
  const client = new Constructor(address, credentials, {
    "grpc.max_receive_message_length": 256 * 1024 * 1024,
    "grpc.max_send_message_length": 256 * 1024 * 1024,
    ...channelOptions,
  });
  const result: Record<string, unknown> = { grpcClient: client, close: () => client.close() };
  for (const method of service.methods) {
    result[method.localName] = (
      init: MessageInitShape<DescMessage>,
      options: { deadlineMs?: number; metadata?: grpc.Metadata } = {},
    ) =>
      new Promise((resolve, reject) => {
        const callOptions: grpc.CallOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
        const fn = (client as unknown as Record<string, Function>)[method.localName]!;
        fn.call(client, create(method.input, init), options.metadata ?? new grpc.Metadata(), callOptions, (error: grpc.ServiceError | null, response: unknown) =>
          error ? reject(error) : resolve(response),
        );
      });
  }
  return result as PromiseClient<S>;
}
