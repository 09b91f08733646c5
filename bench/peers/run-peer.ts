/**
 * Runs W1 against one peer, in its own process (so the peers' packages never
 * load into the service's process or the bench's): warm-up, then the shared
 * closed-loop driver. Prints one JSON line with the result on stdout.
 *
 *   node bench/peers/run-peer.ts <bullmq|graphile-worker|pg-boss> --jobs N --concurrency C --workers W --time-limit-ms T --warmup K
 */
import { parseArgs } from "node:util";
import { closedLoop } from "../lib/closed-loop.ts";
import { now, round } from "../lib/stats.ts";
import type { PeerHarness, PeerOptions } from "./harness.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    jobs: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "32" },
    workers: { type: "string", default: "16" },
    "time-limit-ms": { type: "string", default: "30000" },
    warmup: { type: "string", default: "100" },
  },
});

const peer = positionals[0];
const options: PeerOptions = { workerConcurrency: Number(values.workers), runId: `${Date.now().toString(36)}_${process.pid}` };

async function create(): Promise<PeerHarness> {
  switch (peer) {
    case "bullmq":
      return (await import("./bullmq.ts")).createBullMq(options);
    case "graphile-worker":
      return (await import("./graphile-worker.ts")).createGraphileWorker(options);
    case "pg-boss":
      return (await import("./pg-boss.ts")).createPgBoss(options);
    default:
      throw new Error(`unknown peer ${peer}`);
  }
}

const hardStop = setTimeout(() => {
  console.error(`${peer}: hard time limit reached, exiting`);
  process.exit(3);
}, Number(values["time-limit-ms"]) + 120_000);
hardStop.unref();

const harness = await create();
try {
  const concurrency = Number(values.concurrency);
  const warmup = Number(values.warmup);
  if (warmup > 0) {
    await closedLoop({ total: warmup, concurrency, timeLimitMs: 30_000 }, (i) => harness.runJob(1_000_000_000 + i));
    await harness.drain?.();
  }
  const start = now();
  const result = await closedLoop({ total: Number(values.jobs), concurrency, timeLimitMs: Number(values["time-limit-ms"]) }, (i) => harness.runJob(i));
  let elapsedMs = result.elapsedMs;
  if (harness.drain) {
    await harness.drain();
    elapsedMs = Math.max(elapsedMs, now() - start);
  }
  const jobsPerSecond = round(result.completed / (elapsedMs / 1000), 1);
  process.stdout.write(
    JSON.stringify({ peer: harness.name, settings: harness.settings, completionSignal: harness.completionSignal, concurrency, ...result, elapsedMs: round(elapsedMs), jobsPerSecond }) + "\n",
  );
} finally {
  await harness.close();
}
process.exit(0);
