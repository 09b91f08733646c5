/**
 * `concurrency` callers each calling `call` back to back for `durationMs`:
 * how many calls completed, over how long, and each one's latency. The loop
 * of the no-op gRPC ceiling and of the transport comparison.
 */
import { now } from "./stats.ts";

export async function callLoop(call: () => Promise<unknown>, concurrency: number, durationMs: number): Promise<{ calls: number; elapsedMs: number; latencies: number[] }> {
  const latencies: number[] = [];
  const start = now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (now() < end) {
        const t0 = now();
        await call();
        latencies.push(now() - t0);
      }
    }),
  );
  return { calls: latencies.length, elapsedMs: now() - start, latencies };
}
