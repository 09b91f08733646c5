/**
 * The no-op gRPC server of the call-rate ceiling, not yet bound: grpc-js with
 * one method, SessionManagementService.GetSession, answered at once through
 * the same protobuf-es adapter the real server uses; with `unaryFastPath`, its
 * calls answered by the server's unary fast path (src/grpc/unary-fast-path.ts)
 * as the server's are.
 */
import * as grpc from "@grpc/grpc-js";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { grpcImplementation, grpcServiceDefinition } from "../../src/grpc/adapter.ts";
import { installUnaryFastPath, UnaryFastPath } from "../../src/grpc/unary-fast-path.ts";

export function noopGrpcServer(options: { unaryFastPath?: boolean } = {}): grpc.Server {
  const server = new grpc.Server();
  const definition = grpcServiceDefinition(SessionManagementService);
  const implementation = grpcImplementation(SessionManagementService, { getSession: async () => ({ sessionId: 1n }) }, () => ({ code: grpc.status.INTERNAL }));
  server.addService(definition, implementation);
  if (options.unaryFastPath) {
    // grpc-js's default receive limit (4 MiB): the no-op server's only limit.
    const fastPath = new UnaryFastPath(4 * 1024 * 1024);
    const refusal = installUnaryFastPath(server, fastPath);
    if (refusal !== undefined) throw new Error(`the no-op server cannot take the unary fast path: ${refusal}`);
    fastPath.addService(definition, implementation);
  }
  return server;
}

/** Binds `server` to a free loopback port and prints the port on stdout (how the ceiling's children announce themselves). */
export function bindAndPrintPort(server: grpc.Server): void {
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.stdout.write(`${port}\n`);
  });
}
