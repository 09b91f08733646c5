/**
 * The server side of bench/micro/call-promotion.ts: the no-op gRPC server of
 * the call-rate ceiling (grpc-js, GetSession answered at once through our
 * adapter), optionally with the real server's module graph loaded
 * (LOAD_SERVER_MODULES=1: what the server's heap holds besides its calls)
 * and with node:http2's stream tables renewed (RENEW_STREAM_TABLES=1,
 * src/grpc/http2-stream-tables.ts). Prints its port; on SIGUSR2 prints
 * "mark <ms since start>" (where the measured window starts); exits on SIGTERM.
 */
import * as grpc from "@grpc/grpc-js";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { grpcImplementation, grpcServiceDefinition } from "../../src/grpc/adapter.ts";
import { renewHttp2StreamTables } from "../../src/grpc/http2-stream-tables.ts";

if (process.env["LOAD_SERVER_MODULES"] === "1") await import("../../src/app/storage-server.ts");
if (process.env["RENEW_STREAM_TABLES"] === "1") renewHttp2StreamTables();

const server = new grpc.Server();
server.addService(
  grpcServiceDefinition(SessionManagementService),
  grpcImplementation(SessionManagementService, { getSession: async () => ({ sessionId: 1n }) }, () => ({ code: grpc.status.INTERNAL })),
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${port}\n`);
});
process.on("SIGUSR2", () => process.stdout.write(`mark ${performance.now().toFixed(0)}\n`));
process.once("SIGTERM", () => process.exit(0));
