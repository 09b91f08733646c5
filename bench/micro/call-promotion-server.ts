/**
 * The server side of bench/micro/call-promotion.ts: the no-op gRPC server of
 * the call-rate ceiling (grpc-js, GetSession answered at once through our
 * adapter), optionally with the real server's module graph loaded
 * (LOAD_SERVER_MODULES=1: what the server's heap holds besides its calls)
 * and with node:http2's stream tables renewed (RENEW_STREAM_TABLES=1,
 * src/grpc/http2-stream-tables.ts), or as the real server's gRPC layer
 * (OUR_GRPC_SERVER=1: src/grpc/server.ts with its interceptor, readiness gate
 * and request caps, a prom-client observer as the server's, which also
 * renews the stream tables; UNARY_FAST_PATH=0 sends its calls through grpc-js's
 * full call path instead of src/grpc/unary-fast-path.ts), or as node:http2
 * alone (BARE_HTTP2=1: the same answer bytes written by hand, no gRPC library —
 * the floor under any gRPC server on node:http2). Prints its port; on SIGUSR2 prints
 * "mark <ms since start>" (where the measured window starts); exits on SIGTERM.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { renewHttp2StreamTables } from "../../src/grpc/http2-stream-tables.ts";
import { GrpcServer } from "../../src/grpc/server.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { bindAndPrintPort, noopGrpcServer } from "../ceilings/noop-grpc-service.ts";

if (process.env["LOAD_SERVER_MODULES"] === "1") await import("../../src/app/storage-server.ts");
if (process.env["RENEW_STREAM_TABLES"] === "1") renewHttp2StreamTables();

if (process.env["BARE_HTTP2"] === "1") {
  // GetSession's answer (session_id = 1) in its gRPC frame.
  const answer = Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]);
  const server = http2.createServer();
  server.on("stream", (stream) => {
    stream.on("data", () => {});
    stream.once("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "OK" }));
      stream.end(answer);
    });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
} else if (process.env["OUR_GRPC_SERVER"] === "1") {
  const metrics = new Metrics();
  const server = new GrpcServer({
    maxRequestBytes: 64 * 1024 * 1024,
    logger: silentLogger(),
    readiness: { notServingReason: () => undefined },
    unaryFastPath: process.env["UNARY_FAST_PATH"] !== "0",
    observer: (outcome) => {
      const slash = outcome.method.indexOf("/");
      metrics.observeRpc(outcome.method.slice(0, slash), outcome.method.slice(slash + 1), grpc.status[outcome.code] ?? String(outcome.code), outcome.durationMs / 1000);
    },
  });
  server.addService(SessionManagementService, { getSession: async () => ({ sessionId: 1n }) });
  process.stdout.write(`${await server.bind("127.0.0.1:0")}\n`);
} else {
  bindAndPrintPort(noopGrpcServer());
}
process.on("SIGUSR2", () => process.stdout.write(`mark ${performance.now().toFixed(0)}\n`));
process.once("SIGTERM", () => process.exit(0));
