/**
 * The no-op server of the transport comparison (issue 20.6), on
 * `@connectrpc/connect-node`: the gRPC protocol over `node:http2` (Connect and
 * gRPC-Web off), one method, SessionManagementService.GetSession answered at
 * once from the same generated descriptors the real server uses. Runs in its
 * own process like noop-grpc-server.ts, with the same process settings (V8's
 * pretenuring off, node:http2's stream tables renewed: it is a node:http2
 * server too); prints its port, exits on SIGTERM.
 */
import { turnOffPretenuring } from "../../src/cli/v8-heap-flags.js";
import * as http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { renewHttp2StreamTables } from "../../src/grpc/http2-stream-tables.ts";

turnOffPretenuring();
renewHttp2StreamTables();

const handler = connectNodeAdapter({
  grpc: true,
  connect: false,
  grpcWeb: false,
  routes: (router) => {
    router.service(SessionManagementService, { getSession: async () => ({ sessionId: 1n }) });
  },
});
const server = http2.createServer(handler);
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
