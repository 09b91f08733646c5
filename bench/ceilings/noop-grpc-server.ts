/**
 * The no-op gRPC server of the call-rate ceiling (noop-grpc-service.ts), in
 * its own process, as the real server runs — with the real server's process
 * settings, so the ceiling is the cheapest call this transport can make here,
 * not a cost the server has already cut below (README, issue 20's eighth
 * part): V8's allocation-site pretenuring off (set as the serve command sets it),
 * node:http2's stream tables renewed, and the server's unary fast path
 * (src/grpc/unary-fast-path.ts; ninth part). Prints its port, exits on SIGTERM.
 */
import { turnOffPretenuring } from "../../src/cli/v8-heap-flags.js";
import { renewHttp2StreamTables } from "../../src/grpc/http2-stream-tables.ts";
import { bindAndPrintPort, noopGrpcServer } from "./noop-grpc-service.ts";

turnOffPretenuring();
renewHttp2StreamTables();
const server = noopGrpcServer({ unaryFastPath: true });
bindAndPrintPort(server);
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
