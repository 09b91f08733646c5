/**
 * The no-op gRPC server of the call-rate ceiling (noop-grpc-service.ts), in
 * its own process, as the real server runs: prints its port, exits on SIGTERM.
 */
import { bindAndPrintPort, noopGrpcServer } from "./noop-grpc-service.ts";

const server = noopGrpcServer();
bindAndPrintPort(server);
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
