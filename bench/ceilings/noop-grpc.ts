/**
 * Ceiling 1: no-op unary gRPC calls per second over loopback, with the same
 * number of callers as W1's submitters, plus the latency of one caller alone
 * (the floor under any dispatch latency, W3's baseline).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SessionManagementService } from "../../src/gen/storage/storage_pb.ts";
import { createPromiseClient } from "../../src/grpc/adapter.ts";
import { round, summarizeLatencies, type LatencySummary } from "../lib/stats.ts";
import { callLoop } from "../lib/call-loop.ts";

export interface NoopCeiling {
  readonly concurrency: number;
  readonly callsPerSecond: number;
  readonly calls: number;
  readonly durationMs: number;
  readonly latencyAtConcurrency: LatencySummary;
  readonly singleCallerLatency: LatencySummary;
}

export async function measureNoopGrpc(options: { concurrency: number; durationMs: number }): Promise<NoopCeiling> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./noop-grpc-server.ts", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^(\d+)\n/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`no-op server exited with ${code}`)));
    });
    const client = createPromiseClient(SessionManagementService, `127.0.0.1:${port}`);
    try {
      // Warm-up: connection, JIT, V8's young generation grown — on both sides. The callers are this
      // process, whose CPU per call is about twice the server's: with a 1 s warm-up the ceiling read
      // 6 291 calls/s first thing in a run and 8 362–8 605 for the same server 10–30 s later (README,
      // issue 20's eighth part), so it warms up as long as it measures.
      await callLoop(() => client.getSession({}), options.concurrency, Math.max(options.durationMs, 500));
      const loaded = await callLoop(() => client.getSession({}), options.concurrency, options.durationMs);
      const single = await callLoop(() => client.getSession({}), 1, Math.min(2_000, options.durationMs / 2));
      return {
        concurrency: options.concurrency,
        callsPerSecond: round(loaded.calls / (loaded.elapsedMs / 1000), 1),
        calls: loaded.calls,
        durationMs: round(loaded.elapsedMs),
        latencyAtConcurrency: summarizeLatencies(loaded.latencies),
        singleCallerLatency: summarizeLatencies(single.latencies),
      };
    } finally {
      client.close();
    }
  } finally {
    child.kill("SIGTERM");
  }
}
