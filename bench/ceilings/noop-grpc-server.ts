/**
 * The no-op gRPC server of the call-rate ceiling: grpc-js with one method,
 * SessionManagementService.GetSession, answered at once through the same
 * protobuf-es adapter the real server uses. Runs in its own process, as the
 * real server does; prints its port, exits on SIGTERM.
 */
import * as grpc from "@grpc/grpc-js";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { grpcImplementation, grpcServiceDefinition } from "../../src/grpc/adapter.ts";

const server = new grpc.Server();
server.addService(
  grpcServiceDefinition(SessionManagementService),
  grpcImplementation(SessionManagementService, { getSession: async () => ({ sessionId: 1n }) }, () => ({ code: grpc.status.INTERNAL })),
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${port}\n`);
});
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
