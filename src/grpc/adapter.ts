/**
 * Bridges protobuf-es descriptors and grpc-js: a generated service descriptor
 * becomes a grpc-js service definition (paths like
 * `/storage.JobOrchestrationService/RegisterJob`, binary protobuf bodies), and
 * a map of async handlers becomes a grpc-js implementation. Also builds typed
 * promise clients, used by the CLI, the tests and the benchmarks.
 */
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import * as grpc from "@grpc/grpc-js";

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

/** grpc-js method definitions for every method of a protobuf-es service. */
export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") throw new Error(`${service.typeName}.${method.name}: only unary methods are supported`);
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (message: MessageShape<DescMessage>) => Buffer.from(toBinary(method.input, message)),
      requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
      responseSerialize: (message: MessageShape<DescMessage>) => Buffer.from(toBinary(method.output, message)),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
      originalName: method.name,
    };
  }
  return definition;
}

/**
 * Turns async handlers into a grpc-js implementation. A thrown error goes to
 * `toStatus`, which must turn anything into a status; a handler can never
 * crash the process.
 */
export function grpcImplementation<S extends GenServiceMethods>(
  service: GenService<S>,
  handlers: ServiceHandlers<S>,
  toStatus: (error: unknown, method: string) => Partial<grpc.StatusObject>,
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
      let promise: Promise<MessageInitShape<DescMessage>>;
      try {
        promise = handler(call.request, call);
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(
        (init) => callback(null, create(method.output, init)),
        (error: unknown) => callback(toStatus(error, fullName) as grpc.ServiceError),
      );
    };
  }
  return implementation;
}

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
