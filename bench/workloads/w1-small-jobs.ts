/**
 * W1 small jobs on spider-storage: N one-task jobs through the closed-loop
 * driver every W1 system shares. One job: RegisterJob → StartJob → the
 * scheduler polls the task → an execution manager registers an instance and
 * reports success → the job is Succeeded. Completion is observed when that
 * ReportTaskSuccess is answered OK (the job's terminal state is committed by
 * then); a sample of jobs is checked with GetJobState afterwards.
 */
import { addResourceGroup, compressInputs } from "../../testkit/sim/cluster.ts";
import { singleTask } from "../../testkit/sim/job-shapes.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import { closedLoop, CompletionWaiters, type ClosedLoopResult } from "../lib/closed-loop.ts";
import { perUnit, readStatus, type StatusCounters } from "../lib/mariadb-status.ts";
import { CpuMeter, MiB, RssSampler } from "../lib/proc.ts";
import { now, round, summarizeLatencies } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import type { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { DEFAULT_CLUSTER, hookPolls, hookReports, startCluster, startSpiderServer } from "./spider.ts";

export interface W1Result extends ClosedLoopResult {
  readonly concurrency: number;
  readonly workers: number;
  readonly verifiedSucceeded: number;
  readonly verifiedSample: number;
  readonly serverPeakRssMiB: number;
  /** MariaDB statements and log fsyncs per completed job (all clients: the server and nothing else). */
  readonly databasePerJob: StatusCounters;
  /** % of one core used by the server and by the bench process (submitters, scheduler, EMs) during the measured loop. */
  readonly cpu: { serverCpuPercent: number; loadGeneratorCpuPercent: number };
  /** Where a job's latency goes: p50/p99 of each step, in ms (see phaseBreakdown). */
  readonly phases: Record<string, { p50Ms: number; p99Ms: number }>;
  readonly protocolErrors: readonly string[];
}

export async function runW1(ctx: BenchContext): Promise<W1Result> {
  const { w1 } = ctx.profile;
  const handle = await startSpiderServer(ctx.mariadb, `bench_w1_${ctx.runId}`);
  const cluster = await startCluster(handle.server.address);
  const sampler = new RssSampler(handle.server.child.pid!, 100);
  try {
    const clients = cluster.clients;
    const resourceGroupId = await addResourceGroup(clients);
    const waiters = new CompletionWaiters<bigint>();
    // Timestamps of each job's steps, for the phase breakdown (where a job's latency goes).
    const marks = new Map<bigint, JobMarks>();
    const mark = (jobId: bigint) => {
      let m = marks.get(jobId);
      if (!m) marks.set(jobId, (m = {}));
      return m;
    };
    hookReports(cluster, {
      onIssued: (e) => (mark(e.jobId).reportIssued = e.at),
      onAcked: (e) => {
        mark(e.jobId).reportAcked = e.at;
        waiters.complete(e.jobId);
      },
    });
    hookPolls(cluster, (jobId, _taskId, at) => (mark(jobId).polled = at));
    hookRegisterInstance(cluster, (jobId, issued, acked) => {
      const m = mark(jobId);
      m.instanceIssued = issued;
      m.instanceAcked = acked;
    });
    const job = singleTask();
    const graph = job.builder.toCompressed();
    const inputs = compressInputs(job.inputs);
    const jobIds: bigint[] = [];
    const runJob = async () => {
      const t0 = now();
      const { jobId } = await clients.jobs.registerJob({ resourceGroupId, compressedSerializedTaskGraph: graph, compressedSerializedInputs: inputs });
      const m = mark(jobId);
      m.registerIssued = t0;
      m.startIssued = now();
      jobIds.push(jobId);
      const done = waiters.wait(jobId);
      await clients.jobs.startJob({ jobId });
      m.startAcked = now();
      await done;
    };
    await closedLoop({ total: w1.warmup, concurrency: ctx.profile.concurrency, timeLimitMs: 30_000 }, runJob);
    jobIds.length = 0;
    marks.clear();
    const statusBefore = await readStatus(ctx.mariadb.serverUrl);
    const cpuMeter = new CpuMeter(handle.server.child.pid!);
    const result = await closedLoop({ total: w1.jobs, concurrency: ctx.profile.concurrency, timeLimitMs: w1.timeLimitMs }, runJob);
    const cpu = cpuMeter.read();
    const databasePerJob = perUnit(statusBefore, await readStatus(ctx.mariadb.serverUrl), result.completed);

    // Every completion seen must be a Succeeded job in the database's eyes too.
    const step = Math.max(1, Math.floor(jobIds.length / 500));
    let verified = 0;
    let sample = 0;
    for (let i = 0; i < jobIds.length; i += step) {
      sample++;
      const { state } = await clients.jobs.getJobState({ jobId: jobIds[i]! });
      if (state === JobState.SUCCEEDED) verified++;
    }
    return {
      ...result,
      concurrency: ctx.profile.concurrency,
      workers: DEFAULT_CLUSTER.executionManagers * DEFAULT_CLUSTER.concurrencyPerManager,
      verifiedSucceeded: verified,
      verifiedSample: sample,
      serverPeakRssMiB: round(sampler.peakRssBytes / MiB, 1),
      databasePerJob,
      cpu,
      phases: phaseBreakdown(marks),
      protocolErrors: [...cluster.log.protocolErrors.slice(0, 10), ...cluster.scheduler.errors.slice(0, 10)],
    };
  } finally {
    sampler.stop();
    await cluster.stop();
    await handle.stop();
  }
}

interface JobMarks {
  registerIssued?: number;
  startIssued?: number;
  startAcked?: number;
  polled?: number;
  instanceIssued?: number;
  instanceAcked?: number;
  reportIssued?: number;
  reportAcked?: number;
}

/** Wraps every execution manager's RegisterTaskInstance to timestamp it. */
function hookRegisterInstance(cluster: SimulatedCluster, onAcked: (jobId: bigint, issued: number, acked: number) => void): void {
  for (const em of cluster.executionManagers) {
    const tasks = em.clients.tasks as unknown as { registerTaskInstance: (request: { jobId: bigint }, options?: unknown) => Promise<unknown> };
    const original = tasks.registerTaskInstance.bind(tasks);
    tasks.registerTaskInstance = (request, options) => {
      const issued = now();
      return original(request, options).then((response) => {
        onAcked(request.jobId, issued, now());
        return response;
      });
    };
  }
}

/**
 * Per step, over the measured jobs:
 *   registerJob        RegisterJob round trip
 *   startJob           StartJob round trip
 *   startToPolled      StartJob issued → task received in a poll
 *   polledToInstance   received → RegisterTaskInstance issued (waiting for a free simulated worker)
 *   registerInstance   RegisterTaskInstance round trip
 *   reportSuccess      ReportTaskSuccess round trip (the job becomes Succeeded)
 */
function phaseBreakdown(marks: Map<bigint, JobMarks>): Record<string, { p50Ms: number; p99Ms: number }> {
  const spans: Record<string, number[]> = { registerJob: [], startJob: [], startToPolled: [], polledToInstance: [], registerInstance: [], reportSuccess: [] };
  const add = (name: string, from: number | undefined, to: number | undefined) => {
    if (from !== undefined && to !== undefined) spans[name]!.push(to - from);
  };
  for (const m of marks.values()) {
    add("registerJob", m.registerIssued, m.startIssued);
    add("startJob", m.startIssued, m.startAcked);
    add("startToPolled", m.startIssued, m.polled);
    add("polledToInstance", m.polled, m.instanceIssued);
    add("registerInstance", m.instanceIssued, m.instanceAcked);
    add("reportSuccess", m.reportIssued, m.reportAcked);
  }
  return Object.fromEntries(
    Object.entries(spans).map(([name, samples]) => {
      const summary = summarizeLatencies(samples);
      return [name, { p50Ms: summary.p50Ms, p99Ms: summary.p99Ms }];
    }),
  );
}
