/**
 * The no-op gRPC server of the call-rate ceiling, not yet bound: grpc-js with
 * one method, SessionManagementService.GetSession, answered at once through
 * the same protobuf-es adapter the real server uses.
 */
import * as grpc from "@grpc/grpc-js";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { grpcImplementation, grpcServiceDefinition } from "../../src/grpc/adapter.ts";

export function noopGrpcServer(): grpc.Server {
  const server = new grpc.Server();
  server.addService(
    grpcServiceDefinition(SessionManagementService),
    grpcImplementation(SessionManagementService, { getSession: async () => ({ sessionId: 1n }) }, () => ({ code: grpc.status.INTERNAL })),
  );
  return server;
}

/** Binds `server` to a free loopback port and prints the port on stdout (how the ceiling's children announce themselves). */
export function bindAndPrintPort(server: grpc.Server): void {
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.stdout.write(`${port}\n`);
  });
}
