/**
 * W2 one big job: a flat job (independent tasks) and a layered DAG (each task
 * after the first layer reads `fanIn` outputs of the layer before), each run
 * alone on a fresh server by the 16 simulated workers. tasks/s runs from
 * StartJob to the job observed Succeeded (GetJobState every 20 ms). RPCs per
 * task are counted, not assumed: RegisterTaskInstance + ReportTaskSuccess +
 * the polls that returned work, per task.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { addResourceGroup, compressInputs } from "../../testkit/sim/cluster.ts";
import { flat, layered, type JobSpec } from "../../testkit/sim/job-shapes.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { jobStateFromProto } from "../../testkit/job-state-from-proto.ts";
import { perUnit, readStatus, type StatusCounters } from "../lib/mariadb-status.ts";
import { CpuMeter, MiB, RssSampler } from "../lib/proc.ts";
import { now, round } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import { hookPolls, hookReports, startCluster, startSpiderServer } from "./spider.ts";
import { seededRandom } from "../../src/core/seeded-random.ts";

export interface W2Case {
  readonly shape: string;
  readonly tasks: number;
  readonly state: string;
  readonly registerMs: number;
  readonly runMs: number;
  readonly tasksPerSecond: number;
  readonly tasksReported: number;
  readonly rpcsPerTask: number;
  readonly polls: number;
  readonly nonEmptyPolls: number;
  readonly serverPeakRssMiB: number;
  /** MariaDB statements and log fsyncs per task reported, from StartJob to Succeeded. */
  readonly databasePerTask: StatusCounters;
  /** % of one core used by the server and by the bench process from StartJob to Succeeded. */
  readonly cpu: { serverCpuPercent: number; loadGeneratorCpuPercent: number };
  readonly timedOut: boolean;
  readonly protocolErrors: readonly string[];
}

export async function runW2(ctx: BenchContext): Promise<{ flat: W2Case; dag: W2Case }> {
  const { w2 } = ctx.profile;
  const flatCase = await runCase(ctx, "flat", `flat ${w2.flatTasks}`, flat(w2.flatTasks));
  const dagCase = await runCase(ctx, "dag", `DAG ${w2.dagLayers}×${w2.dagWidth}, ${w2.dagFanIn} inputs/task`, layered(w2.dagLayers, w2.dagWidth, w2.dagFanIn, seededRandom(13)));
  return { flat: flatCase, dag: dagCase };
}

async function runCase(ctx: BenchContext, key: string, shape: string, job: JobSpec): Promise<W2Case> {
  const handle = await startSpiderServer(ctx.mariadb, `bench_w2_${key}_${ctx.runId}`);
  const cluster = await startCluster(handle.server.address);
  const sampler = new RssSampler(handle.server.child.pid!, 100);
  try {
    const clients = cluster.clients;
    const resourceGroupId = await addResourceGroup(clients);
    let reported = 0;
    let register = 0;
    hookReports(cluster, { onAcked: () => reported++ });
    for (const em of cluster.executionManagers) {
      const tasks = em.clients.tasks as { registerTaskInstance: (...args: unknown[]) => Promise<unknown> };
      const original = tasks.registerTaskInstance.bind(tasks);
      tasks.registerTaskInstance = (...args: unknown[]) => {
        register++;
        return original(...args);
      };
    }
    const polls = hookPolls(cluster);
    const tasks = job.builder.build().tasks.length;
    const t0 = now();
    const { jobId } = await clients.jobs.registerJob({
      resourceGroupId,
      compressedSerializedTaskGraph: job.builder.toCompressed(),
      compressedSerializedInputs: compressInputs(job.inputs),
    });
    const t1 = now();
    const pollsBefore = { ...polls };
    const statusBefore = await readStatus(ctx.mariadb.serverUrl);
    const cpuMeter = new CpuMeter(handle.server.child.pid!);
    await clients.jobs.startJob({ jobId });
    const deadline = t1 + ctx.profile.w2.timeLimitMs;
    let state: JobState = JobState.RUNNING;
    while (now() < deadline) {
      state = (await clients.jobs.getJobState({ jobId })).state;
      if (state === JobState.SUCCEEDED || state === JobState.FAILED || state === JobState.CANCELLED) break;
      await sleep(20);
    }
    const t2 = now();
    const cpu = cpuMeter.read();
    const databasePerTask = perUnit(statusBefore, await readStatus(ctx.mariadb.serverUrl), reported);
    const timedOut = state !== JobState.SUCCEEDED && state !== JobState.FAILED && state !== JobState.CANCELLED;
    const runMs = t2 - t1;
    const pollCalls = polls.nonEmptyPolls - pollsBefore.nonEmptyPolls;
    return {
      shape,
      tasks,
      state: jobStateFromProto(state),
      registerMs: round(t1 - t0),
      runMs: round(runMs),
      // A job that did not finish is credited only with the tasks it got through.
      tasksPerSecond: round((timedOut ? reported : tasks) / (runMs / 1000), 1),
      tasksReported: reported,
      rpcsPerTask: round((register + reported + pollCalls) / Math.max(1, reported), 3),
      polls: polls.polls - pollsBefore.polls,
      nonEmptyPolls: pollCalls,
      serverPeakRssMiB: round(sampler.peakRssBytes / MiB, 1),
      databasePerTask,
      cpu,
      timedOut,
      protocolErrors: [...cluster.log.protocolErrors.slice(0, 10), ...cluster.scheduler.errors.slice(0, 10)],
    };
  } finally {
    sampler.stop();
    await cluster.stop();
    await handle.stop();
  }
}
