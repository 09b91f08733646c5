/**
 * W1 against one peer (issue 20), in its own process (the peers' packages
 * never load into the service's process or the bench's):
 *
 *   node bench/peers/run-peer.ts <bullmq|graphile-worker|pg-boss> --jobs N --producers P
 *        --producer-concurrency C --workers W --time-limit-ms T --warmup K
 *        --latency-rate R --latency-seconds S --max-in-flight M [--capacity-only]
 *
 * starts the peer's workers here, warms up, then
 *   capacity: P producer processes (this script with --role producer) enqueue
 *             N jobs, C calls in flight each, never waiting for completions;
 *             jobs/s = durable completions ÷ ("go" → last durable completion);
 *             CPU of this process, the producers and the store from /proc;
 *   latency:  jobs offered at R jobs/s (the same rate for every system: half
 *             of spider-storage's capacity; 0 = half of this peer's own) from
 *             this process, at most M in flight, latency from just before the
 *             enqueue call to the durable completion observed.
 * Prints one JSON line with both on stdout. With --capacity-only, the capacity
 * mode alone (a further round; the bench interleaves rounds across systems).
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { closedLoop } from "../lib/closed-loop.ts";
import { pacedLoop, ProducerGroup, runProducer, shares } from "../lib/open-loop.ts";
import { cpuMsPer, CpuSpan } from "../lib/proc.ts";
import { now, round } from "../lib/stats.ts";
import type { PeerHarness, PeerOptions, PeerProducer } from "./harness.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    role: { type: "string", default: "measure" },
    "run-id": { type: "string" },
    jobs: { type: "string", default: "1000" },
    producers: { type: "string", default: "2" },
    "producer-concurrency": { type: "string", default: "4" },
    workers: { type: "string", default: "16" },
    "time-limit-ms": { type: "string", default: "30000" },
    warmup: { type: "string", default: "100" },
    "latency-rate": { type: "string", default: "0" },
    "latency-seconds": { type: "string", default: "10" },
    "max-in-flight": { type: "string", default: "32" },
    "capacity-only": { type: "boolean", default: false },
    from: { type: "string", default: "0" },
    count: { type: "string", default: "0" },
    concurrency: { type: "string", default: "4" },
  },
});

const peer = positionals[0];
const options: PeerOptions = { workerConcurrency: Number(values.workers), runId: values["run-id"] ?? `${Date.now().toString(36)}_${process.pid}` };

async function createWorkers(): Promise<PeerHarness> {
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

async function createProducer(): Promise<PeerProducer> {
  switch (peer) {
    case "bullmq":
      return (await import("./bullmq.ts")).createBullMqProducer(options);
    case "graphile-worker":
      return (await import("./graphile-worker.ts")).createGraphileWorkerProducer(options);
    case "pg-boss":
      return (await import("./pg-boss.ts")).createPgBossProducer(options);
    default:
      throw new Error(`unknown peer ${peer}`);
  }
}

if (values.role === "producer") {
  const producer = await createProducer();
  await runProducer({ from: Number(values.from), count: Number(values.count), concurrency: Number(values.concurrency) }, (i) => producer.enqueue(i), () => producer.close());
} else {
  const timeLimitMs = Number(values["time-limit-ms"]);
  const hardStop = setTimeout(() => {
    console.error(`${peer}: hard time limit reached, exiting`);
    process.exit(3);
  }, 2 * timeLimitMs + 120_000);
  hardStop.unref();

  const harness = await createWorkers();
  try {
    const jobs = Number(values.jobs);
    const maxInFlight = Number(values["max-in-flight"]);
    const runJob = async (i: number) => harness.waitDurable(await harness.enqueue(i));
    const warmup = Number(values.warmup);
    if (warmup > 0) await closedLoop({ total: warmup, concurrency: maxInFlight, timeLimitMs: 30_000 }, (i) => runJob(1_000_000_000 + i));

    // --- capacity ---
    const producerCount = Number(values.producers);
    const producerConcurrency = Number(values["producer-concurrency"]);
    const script = fileURLToPath(import.meta.url);
    const group = await ProducerGroup.start(
      script,
      shares(jobs, producerCount).map((p) => [peer!, "--role", "producer", "--run-id", options.runId, "--from", String(p.from), "--count", String(p.count), "--concurrency", String(producerConcurrency)]),
    );
    let capacity: Record<string, unknown> & { jobsPerSecond: number };
    try {
      await harness.resetCount();
      const cpu = new CpuSpan().group("workerProcess", { self: true }).group("producers", { pids: group.pids }).group("store", harness.store.pids ? { pids: harness.store.pids } : { command: harness.store.command! });
      cpu.start();
      const t0 = group.go();
      const deadline = t0 + timeLimitMs;
      const reports = await Promise.race([group.reports(), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeLimitMs).unref())]);
      const produced = reports ? reports.reduce((total, r) => total + r.produced, 0) : jobs;
      let counted = await harness.durableCount(produced);
      while (counted.count < produced && now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        counted = await harness.durableCount(produced);
      }
      const reading = cpu.read();
      if (reports) await group.exit();
      else group.kill();
      const elapsedMs = counted.lastAt - t0;
      capacity = {
        offered: jobs,
        produced,
        completed: counted.count,
        elapsedMs: round(elapsedMs),
        jobsPerSecond: round(counted.count / (elapsedMs / 1000), 1),
        stoppedBy: reports && counted.count >= produced ? "count" : "time",
        producers: producerCount,
        producerConcurrency,
        producerReports: (reports ?? []).map(({ sampleKeys: _, ...rest }) => rest),
        cpuMsPerJob: cpuMsPer(reading, counted.count),
        cpuPercentOfOneCore: Object.fromEntries(Object.entries(reading.cpuSeconds).map(([k, v]) => [k, Math.round((v / reading.wallSeconds) * 100)])),
        storeCpuNote: harness.store.note,
      };
    } catch (error) {
      group.kill();
      throw error;
    }

    if (values["capacity-only"]) {
      // A further capacity round (the bench interleaves them across systems): no latency mode.
      process.stdout.write(JSON.stringify({ peer: harness.name, jobsPerSecond: capacity.jobsPerSecond, capacity }) + "\n");
    } else {
      // --- latency at a fixed offered rate ---
      const requested = Number(values["latency-rate"]);
      const rate = Math.max(2, requested > 0 ? requested : capacity.jobsPerSecond / 2);
      const total = Math.max(20, Math.min(jobs, Math.round(rate * Number(values["latency-seconds"]))));
      const latency = await pacedLoop({ ratePerSecond: rate, total, maxInFlight, timeLimitMs }, (i) => runJob(2_000_000_000 + i));

      process.stdout.write(
        JSON.stringify({
          peer: harness.name,
          settings: harness.settings,
          durability: harness.durability,
          completionSignal: harness.completionSignal,
          workers: options.workerConcurrency,
          jobsPerSecond: capacity.jobsPerSecond,
          capacity,
          latency: { ...latency, offeredAsFractionOfOwnCapacity: round(rate / capacity.jobsPerSecond, 2) },
        }) + "\n",
      );
    }
  } finally {
    await harness.close();
  }
  process.exit(0);
}
