/**
 * W5 memory: RSS per cached Running task. A fresh server (no execution
 * managers, so nothing runs and every task stays cached, ready and queued)
 * is measured idle, then after RegisterJob + StartJob of flat jobs with
 * `tasks` tasks in all. Each RSS figure is the lowest of 2 s of samples
 * taken after a pause, so transient garbage from the requests counts as little
 * as possible without forcing a GC in the server. Payload (the job inputs'
 * bytes) is subtracted. Baseline: the task graph's own JSON bytes per task —
 * what a client sent to describe a task.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { addResourceGroup, compressInputs } from "../../testkit/sim/cluster.ts";
import { flat } from "../../testkit/sim/job-shapes.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { MiB, readMemory } from "../lib/proc.ts";
import { round } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import { startSpiderServer } from "./spider.ts";

export interface W5Result {
  readonly tasks: number;
  readonly jobs: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  readonly payloadBytes: number;
  readonly bytesPerTask: number;
  readonly graphJsonBytesPerTask: number;
  readonly allRunning: boolean;
}

async function settledRss(pid: number): Promise<number> {
  await sleep(1_000);
  let low = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 20; i++) {
    const reading = readMemory(pid);
    if (reading) low = Math.min(low, reading.rssBytes);
    await sleep(100);
  }
  return low;
}

export async function runW5(ctx: BenchContext): Promise<W5Result> {
  const { w5 } = ctx.profile;
  const handle = await startSpiderServer(ctx.mariadb, `bench_w5_${ctx.runId}`);
  const clients = connectStorage(handle.server.address);
  const pid = handle.server.child.pid!;
  try {
    const resourceGroupId = await addResourceGroup(clients);
    // Warm the code paths once (a tiny job), so code and pools are not counted as task memory.
    const warm = flat(10, { seed: 1 });
    const { jobId: warmId } = await clients.jobs.registerJob({ resourceGroupId, compressedSerializedTaskGraph: warm.builder.toCompressed(), compressedSerializedInputs: compressInputs(warm.inputs) });
    await clients.jobs.startJob({ jobId: warmId });
    const before = await settledRss(pid);

    const jobs = Math.ceil(w5.tasks / w5.tasksPerJob);
    let payloadBytes = 0;
    let graphJsonBytes = 0;
    let tasks = 0;
    let allRunning = true;
    for (let j = 0; j < jobs; j++) {
      const size = Math.min(w5.tasksPerJob, w5.tasks - tasks);
      const job = flat(size, { seed: j + 2 });
      payloadBytes += job.inputs.reduce((total, input) => total + input.length, 0);
      graphJsonBytes += job.builder.toJson().length;
      tasks += size;
      const { jobId } = await clients.jobs.registerJob({ resourceGroupId, compressedSerializedTaskGraph: job.builder.toCompressed(), compressedSerializedInputs: compressInputs(job.inputs) });
      const { state } = await clients.jobs.startJob({ jobId });
      if (state !== JobState.RUNNING) allRunning = false;
    }
    const after = await settledRss(pid);
    return {
      tasks,
      jobs,
      rssBeforeMiB: round(before / MiB, 1),
      rssAfterMiB: round(after / MiB, 1),
      payloadBytes,
      bytesPerTask: round((after - before - payloadBytes) / tasks, 1),
      graphJsonBytesPerTask: round(graphJsonBytes / tasks, 1),
      allRunning,
    };
  } finally {
    clients.close();
    await handle.stop();
  }
}
