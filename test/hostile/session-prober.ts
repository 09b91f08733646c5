/**
 * A separate process that calls GetSession every 100 ms and prints each
 * answer's latency as a JSON line: {"sentAt": epoch ms, "ms": latency, "ok": bool}.
 * Separate, so the test's own work (building 64 MiB requests) never delays a
 * probe: every delay it reports is the server's. Stops on SIGTERM.
 * Usage: node test/hostile/session-prober.ts <host:port>
 */
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";

const address = process.argv[2];
if (address === undefined) throw new Error("usage: session-prober.ts <host:port>");
const client = createPromiseClient(SessionManagementService, address);
const timer = setInterval(() => {
  const sentAt = Date.now();
  const started = performance.now();
  client.getSession({}, { deadlineMs: 30_000 }).then(
    () => process.stdout.write(`${JSON.stringify({ sentAt, ms: performance.now() - started, ok: true })}\n`),
    () => process.stdout.write(`${JSON.stringify({ sentAt, ms: performance.now() - started, ok: false })}\n`),
  );
}, 100);
process.once("SIGTERM", () => {
  clearInterval(timer);
  // Let answers in flight arrive, then leave.
  setTimeout(() => {
    client.close();
    process.exit(0);
  }, 1_000);
});
