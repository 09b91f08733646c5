/**
 * W3 dispatch latency: how long ready work takes to reach a poller. Jobs are
 * two-task chains (A → B) offered open-loop at a fixed rate: half of W1's
 * capacity (its open-loop jobs/s, issue 20.7) in tasks/s (so W1's capacity ÷ 4
 * chains/s). The scheduler's ready-lane
 * poll is a long poll (1 s wait) and each task's receipt is timestamped the
 * moment the poll answers, in the same process that timestamps the causes:
 *   start → poll:  StartJob issued → task A received in a poll
 *   parent → poll: A's ReportTaskSuccess issued → task B received in a poll
 * Beside them, measured only: a no-op GetSession every 5 ms under the same
 * load, so a tail the machine gives every call is told apart from dispatch's.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { addResourceGroup, compressInputs } from "../../testkit/sim/cluster.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { simTaskFunc } from "../../testkit/sim/simulated-execution-manager.ts";
import { now, round, summarizeLatencies, type LatencySummary } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import { DEFAULT_CLUSTER, hookPolls, hookReports, startCluster, startSpiderServer, taskIndexOf } from "./spider.ts";

export interface W3Result {
  readonly offeredJobsPerSecond: number;
  readonly offeredTasksPerSecond: number;
  /** W1's capacity (open loop) this run's rate was derived from. */
  readonly basedOnW1JobsPerSecond: number;
  readonly jobs: number;
  readonly startToPoll: LatencySummary;
  readonly parentToPoll: LatencySummary;
  readonly missed: number;
  readonly protocolErrors: readonly string[];
  /**
   * A no-op RPC under the same load (measured only): GetSession, which reads
   * nothing from the database, issued every 5 ms from the same process while
   * the chains are offered — how long any call takes on this machine at this
   * load, beside how long dispatch takes.
   */
  readonly noopUnderLoad: LatencySummary;
}

export async function runW3(ctx: BenchContext, w1JobsPerSecond: number): Promise<W3Result> {
  const { w3 } = ctx.profile;
  const tasksPerSecond = Math.max(2, w1JobsPerSecond / 2);
  const jobsPerSecond = tasksPerSecond / 2;
  const handle = await startSpiderServer(ctx.mariadb, `bench_w3_${ctx.runId}`);
  const cluster = await startCluster(handle.server.address, { ...DEFAULT_CLUSTER, pollWaitMs: 1_000 });
  try {
    const clients = cluster.clients;
    const resourceGroupId = await addResourceGroup(clients);
    const startIssued = new Map<bigint, number>();
    const reportIssued = new Map<bigint, number>();
    const polledA = new Map<bigint, number>();
    const polledB = new Map<bigint, number>();
    hookPolls(cluster, (jobId, taskId, at) => {
      const index = taskIndexOf(taskId);
      if (index === 0 && !polledA.has(jobId)) polledA.set(jobId, at);
      if (index === 1 && !polledB.has(jobId)) polledB.set(jobId, at);
    });
    hookReports(cluster, {
      onIssued: (e) => {
        if (taskIndexOf(e.taskId) === 0 && !reportIssued.has(e.jobId)) reportIssued.set(e.jobId, e.at);
      },
    });
    const builder = new TaskGraphBuilder()
      .task({ inputs: [BYTES], outputs: [BYTES], taskFunc: simTaskFunc("a", 1) })
      .task({ outputs: [BYTES], sources: [[0, 0]], taskFunc: simTaskFunc("b", 1) });
    const graph = builder.toCompressed();
    const inputs = compressInputs([new TextEncoder().encode("w3")]);

    const submit = async () => {
      const { jobId } = await clients.jobs.registerJob({ resourceGroupId, compressedSerializedTaskGraph: graph, compressedSerializedInputs: inputs });
      startIssued.set(jobId, now());
      await clients.jobs.startJob({ jobId });
    };
    // Warm-up at the same rate, not measured.
    await offer(Math.min(50, w3.jobs), jobsPerSecond, 5_000, submit);
    await sleep(200);
    startIssued.clear();
    const noop: number[] = [];
    let offering = true;
    const pinger = (async () => {
      while (offering) {
        const t0 = now();
        await clients.sessions.getSession({});
        noop.push(now() - t0);
        await sleep(5);
      }
    })();
    const jobsOffered = await offer(w3.jobs, jobsPerSecond, w3.timeLimitMs, submit).finally(() => (offering = false));
    await pinger;
    // Let the last chains finish (bounded).
    const drainDeadline = now() + 5_000;
    while (now() < drainDeadline && [...startIssued.keys()].some((id) => !polledB.has(id))) await sleep(20);

    const startToPoll: number[] = [];
    const parentToPoll: number[] = [];
    let missed = 0;
    for (const [jobId, t0] of startIssued) {
      const a = polledA.get(jobId);
      const b = polledB.get(jobId);
      const r = reportIssued.get(jobId);
      if (a === undefined || b === undefined || r === undefined) {
        missed++;
        continue;
      }
      startToPoll.push(a - t0);
      parentToPoll.push(b - r);
    }
    return {
      offeredJobsPerSecond: round(jobsPerSecond, 1),
      offeredTasksPerSecond: round(tasksPerSecond, 1),
      basedOnW1JobsPerSecond: w1JobsPerSecond,
      jobs: jobsOffered,
      startToPoll: summarizeLatencies(startToPoll),
      parentToPoll: summarizeLatencies(parentToPoll),
      missed,
      noopUnderLoad: summarizeLatencies(noop),
      protocolErrors: [...cluster.log.protocolErrors.slice(0, 10), ...cluster.scheduler.errors.slice(0, 10)],
    };
  } finally {
    await cluster.stop();
    await handle.stop();
  }
}

/** Open loop: starts `submit` every 1/rate s regardless of how long earlier ones take. */
async function offer(count: number, perSecond: number, timeLimitMs: number, submit: () => Promise<void>): Promise<number> {
  const interval = 1000 / perSecond;
  const start = now();
  const inflight: Promise<void>[] = [];
  let i = 0;
  for (; i < count && now() - start < timeLimitMs; i++) {
    const due = start + i * interval;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    inflight.push(submit());
  }
  await Promise.all(inflight);
  return i;
}
