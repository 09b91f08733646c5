/**
 * W5 memory: RSS per cached Running task. A fresh server (no execution
 * managers, so nothing runs and every task stays cached, ready and queued)
 * is measured idle, then after RegisterJob + StartJob of flat jobs with
 * `tasks` tasks in all. Each RSS figure is the lowest of 2 s of samples
 * taken after a pause, so transient garbage from the requests counts as little
 * as possible without forcing a GC in the server. Payload (the job inputs'
 * bytes) is subtracted. Baseline: the task graph's own JSON bytes per task —
 * what a client sent to describe a task.
 *
 * Two variants, each on its own fresh server (issue 20): every job with the
 * same graph (jobs differ only by their inputs — the server's graph cache
 * interns one parsed graph for all of them, the optimistic case), and every
 * job with a distinct graph (the same shape, task function names unique per
 * job, so each job keeps its own parsed graph).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { addResourceGroup, compressInputs } from "../../testkit/sim/cluster.ts";
import { flat, type JobSpec } from "../../testkit/sim/job-shapes.ts";
import { simTaskFunc } from "../../testkit/sim/simulated-execution-manager.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { connectStorage } from "../../testkit/sim/storage-clients.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { MiB, readMemory } from "../lib/proc.ts";
import { round } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import { startSpiderServer } from "./spider.ts";

export interface W5Result {
  readonly graphs: "same" | "distinct";
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

export interface W5Both {
  readonly sameGraph: W5Result;
  readonly distinctGraphs: W5Result;
}

export async function runW5Both(ctx: BenchContext): Promise<W5Both> {
  const sameGraph = await runW5(ctx, "same");
  const distinctGraphs = await runW5(ctx, "distinct");
  return { sameGraph, distinctGraphs };
}

/** Job j of W5: a flat job; with "distinct", its task function names are unique to the job (a graph of its own). */
function w5Job(size: number, j: number, graphs: "same" | "distinct"): JobSpec {
  const job = flat(size, { seed: j + 2 });
  if (graphs === "same") return job;
  const builder = new TaskGraphBuilder().tasksFrom(size, (i) => ({ inputs: [BYTES], outputs: [BYTES], taskFunc: simTaskFunc(`j${j}_f${i}`, 1) }));
  return { builder, inputs: job.inputs };
}

export async function runW5(ctx: BenchContext, graphs: "same" | "distinct" = "same"): Promise<W5Result> {
  const { w5 } = ctx.profile;
  const handle = await startSpiderServer(ctx.mariadb, `bench_w5${graphs === "same" ? "" : "d"}_${ctx.runId}`);
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
      const job = w5Job(size, j, graphs);
      payloadBytes += job.inputs.reduce((total, input) => total + input.length, 0);
      graphJsonBytes += job.builder.toJson().length;
      tasks += size;
      const { jobId } = await clients.jobs.registerJob({ resourceGroupId, compressedSerializedTaskGraph: job.builder.toCompressed(), compressedSerializedInputs: compressInputs(job.inputs) });
      const { state } = await clients.jobs.startJob({ jobId });
      if (state !== JobState.RUNNING) allRunning = false;
    }
    const after = await settledRss(pid);
    return {
      graphs,
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
