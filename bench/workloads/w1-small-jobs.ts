/**
 * W1 small jobs on spider-storage (issue 20), in two modes on one server:
 *
 * - **capacity** (open loop): `producers` processes (w1-producer.ts) each keep
 *   `producerConcurrency` RegisterJob + StartJob calls in flight and never wait
 *   for a completion; the simulated scheduler and 4 execution managers × 4 (16
 *   jobs at once, in this process) poll, register an instance and report
 *   success with a ~100-byte result. A job counts as complete when its
 *   ReportTaskSuccess is answered OK: the one-task job's Succeeded state is
 *   committed by then (innodb_flush_log_at_trx_commit=1, read back below).
 *   jobs/s = completed ÷ ("go" → last completion). CPU of the server, MariaDB,
 *   this process and the producers is read from /proc over the same span.
 * - **latency**: the same job offered at a fixed rate — half of the capacity
 *   just measured — from this process (pacedLoop, at most 32 in flight),
 *   latency from just before RegisterJob to ReportTaskSuccess answered OK,
 *   with where that time goes (phases).
 *
 * One job: one task, a 100-byte input, six 16-byte outputs (w1-job.ts).
 */
import { fileURLToPath } from "node:url";
import { createConnection } from "mysql2/promise";
import { addResourceGroup } from "../../testkit/sim/cluster.ts";
import { JobState } from "../../src/gen/storage/storage_pb.ts";
import type { SimulatedCluster } from "../../testkit/sim/cluster.ts";
import { closedLoop, CompletionWaiters } from "../lib/closed-loop.ts";
import { perUnit, readStatus, type StatusCounters } from "../lib/mariadb-status.ts";
import { pacedLoop, ProducerGroup, shares, type PacedResult, type ProducerReport } from "../lib/open-loop.ts";
import { cpuMsPer, CpuSpan, MiB, RssSampler } from "../lib/proc.ts";
import { now, round, summarizeLatencies } from "../lib/stats.ts";
import type { BenchContext } from "./context.ts";
import { DEFAULT_CLUSTER, hookPolls, hookReports, startCluster, startSpiderServer, type PollCounters } from "./spider.ts";
import { W1_PAYLOAD_BYTES, w1Graph, w1Inputs, w1ResultBytes } from "./w1-job.ts";

export interface W1Capacity {
  readonly offered: number;
  readonly produced: number;
  readonly completed: number;
  readonly elapsedMs: number;
  readonly jobsPerSecond: number;
  readonly stoppedBy: "count" | "time";
  readonly producers: number;
  readonly producerConcurrency: number;
  readonly producerReports: readonly Omit<ProducerReport, "sampleKeys">[];
  /** CPU ms per completed job: server, mariadb, bench process (scheduler + execution managers), producers. */
  readonly cpuMsPerJob: Record<string, number>;
  readonly cpuPercentOfOneCore: Record<string, number>;
  /** RPCs per job, counted: RegisterJob + StartJob (producers) + RegisterTaskInstance + ReportTaskSuccess + polls that returned work. */
  readonly callsPerJob: number;
  readonly polls: PollCounters;
  /** MariaDB statements and fsyncs per completed job (the server is MariaDB's only client). */
  readonly databasePerJob: StatusCounters;
  readonly verifiedSucceeded: number;
  readonly verifiedSample: number;
}

export interface W1Latency extends PacedResult {
  /** Where a job's latency goes: p50/p99 of each step, in ms (see phaseBreakdown). */
  readonly phases: Record<string, { p50Ms: number; p99Ms: number }>;
}

export interface W1Result {
  /** The headline: capacity jobs/s (W6 and the goals compare it). */
  readonly jobsPerSecond: number;
  readonly capacity: W1Capacity;
  readonly latency: W1Latency;
  readonly payloadBytes: number;
  readonly resultBytes: number;
  readonly workers: number;
  /** Read back from the server (SELECT @@…), not assumed. */
  readonly durability: Record<string, string>;
  readonly serverPeakRssMiB: number;
  readonly protocolErrors: readonly string[];
  /**
   * The same capacity run (fewer jobs) on a server with group commit off
   * (runtime.db.group_commit.enabled=false: one statement per request, as
   * before issue 20), measured right before the main server: the baseline of
   * statements, fsyncs and CPU per job.
   */
  readonly withoutGroupCommit?: W1Capacity;
}

const PRODUCER = fileURLToPath(new URL("./w1-producer.ts", import.meta.url));

export async function readMariaDbDurability(serverUrl: string): Promise<Record<string, string>> {
  const connection = await createConnection({ uri: serverUrl });
  try {
    const [rows] = (await connection.query(
      "SELECT @@innodb_flush_log_at_trx_commit AS innodb_flush_log_at_trx_commit, @@sync_binlog AS sync_binlog, @@log_bin AS log_bin, @@innodb_doublewrite AS innodb_doublewrite, @@innodb_flush_method AS innodb_flush_method",
    )) as unknown as [Record<string, unknown>[]];
    return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, String(v)]));
  } finally {
    await connection.end();
  }
}

export async function runW1(ctx: BenchContext, options: { readonly groupCommitBaseline?: boolean } = {}): Promise<W1Result> {
  const withoutGroupCommit = options.groupCommitBaseline ? await runCapacityWithoutGroupCommit(ctx) : undefined;
  const main = await runW1On(ctx, {});
  return withoutGroupCommit ? { ...main, withoutGroupCommit } : main;
}

/**
 * A further round of W1's capacity mode alone, on a fresh server and database
 * (the bench interleaves such rounds across systems, so that the machine's
 * drift falls on all of them alike).
 */
export async function runW1CapacityRound(ctx: BenchContext, round: number): Promise<W1Capacity> {
  ctx.log(`W1 capacity, round ${round}: ${ctx.profile.w1.jobs} jobs`);
  return runW1On({ ...ctx, runId: `${ctx.runId}_r${round}` }, {}, true);
}

/** W1's capacity mode alone (a third of the jobs) on a server writing one statement per request. */
async function runCapacityWithoutGroupCommit(ctx: BenchContext): Promise<W1Capacity> {
  const jobs = Math.max(200, Math.round(ctx.profile.w1.jobs / 3));
  ctx.log(`W1 capacity with group commit off (one statement per request): ${jobs} jobs`);
  const small: BenchContext = { ...ctx, profile: { ...ctx.profile, w1: { ...ctx.profile.w1, jobs, warmup: Math.min(ctx.profile.w1.warmup, 200), latencySeconds: 0 } }, runId: `${ctx.runId}_nogc` };
  return runW1On(small, { SPIDER_STORAGE_RUNTIME__DB__GROUP_COMMIT__ENABLED: "false" }, true);
}

/** W1 on a server started with `env`: capacity then latency, or (capacityOnly) the capacity mode alone. */
async function runW1On(ctx: BenchContext, env: Record<string, string>, capacityOnly: true): Promise<W1Capacity>;
async function runW1On(ctx: BenchContext, env: Record<string, string>, capacityOnly?: false): Promise<W1Result>;
async function runW1On(ctx: BenchContext, env: Record<string, string>, capacityOnly = false): Promise<W1Result | W1Capacity> {
  const { w1 } = ctx.profile;
  const handle = await startSpiderServer(ctx.mariadb, `bench_w1_${ctx.runId}`, { env });
  const cluster = await startCluster(handle.server.address);
  const serverPid = handle.server.child.pid!;
  const sampler = new RssSampler(serverPid, 100);
  try {
    const clients = cluster.clients;
    const resourceGroupId = await addResourceGroup(clients);
    const durability = await readMariaDbDurability(ctx.mariadb.serverUrl);

    // One hook on each report for both modes: the latency mode waits per job, the capacity mode counts.
    const waiters = new CompletionWaiters<bigint>();
    const marks = new Map<bigint, JobMarks>();
    let recordMarks = false;
    const mark = (jobId: bigint): JobMarks => {
      if (!recordMarks) return {};
      let m = marks.get(jobId);
      if (!m) marks.set(jobId, (m = {}));
      return m;
    };
    const counted = { completions: 0, lastAt: 0 };
    hookReports(cluster, {
      onIssued: (e) => (mark(e.jobId).reportIssued = e.at),
      onAcked: (e) => {
        mark(e.jobId).reportAcked = e.at;
        counted.completions++;
        counted.lastAt = e.at;
        waiters.complete(e.jobId);
      },
    });
    const polls = hookPolls(cluster, (jobId, _taskId, at) => (mark(jobId).polled = at));
    hookRegisterInstance(cluster, (jobId, issued, acked) => {
      const m = mark(jobId);
      m.instanceIssued = issued;
      m.instanceAcked = acked;
    });

    const graph = w1Graph();
    // The latency mode's job (and the warm-up's): enqueue from this process, wait for the durable completion.
    const runJob = async (index: number) => {
      const t0 = now();
      const { jobId } = await clients.jobs.registerJob({ resourceGroupId, compressedSerializedTaskGraph: graph, compressedSerializedInputs: w1Inputs(index) });
      const m = mark(jobId);
      m.registerIssued = t0;
      m.startIssued = now();
      const done = waiters.wait(jobId);
      await clients.jobs.startJob({ jobId });
      m.startAcked = now();
      await done;
    };
    await closedLoop({ total: w1.warmup, concurrency: ctx.profile.concurrency, timeLimitMs: 30_000 }, (i) => runJob(10_000_000 + i));

    // --- capacity (open loop, producers in their own processes) ---
    ctx.log(`W1 capacity: ${w1.jobs} jobs from ${w1.producers} producer processes × ${w1.producerConcurrency} enqueues in flight`);
    const capacity = await runCapacity(ctx, { serverPid, address: handle.server.address, resourceGroupId, counted, polls, clients });

    if (capacityOnly) return capacity;

    // --- latency at half the capacity ---
    const rate = Math.max(2, capacity.jobsPerSecond / 2);
    const total = Math.max(20, Math.min(w1.jobs, Math.round(rate * w1.latencySeconds)));
    ctx.log(`W1 latency: ${total} jobs offered at ${round(rate, 1)} jobs/s (½ of the capacity)`);
    recordMarks = true;
    const paced = await pacedLoop({ ratePerSecond: rate, total, maxInFlight: ctx.profile.concurrency, timeLimitMs: w1.timeLimitMs }, (i) => runJob(20_000_000 + i));
    recordMarks = false;

    return {
      jobsPerSecond: capacity.jobsPerSecond,
      capacity,
      latency: { ...paced, phases: phaseBreakdown(marks) },
      payloadBytes: W1_PAYLOAD_BYTES,
      resultBytes: w1ResultBytes(),
      workers: DEFAULT_CLUSTER.executionManagers * DEFAULT_CLUSTER.concurrencyPerManager,
      durability,
      serverPeakRssMiB: round(sampler.peakRssBytes / MiB, 1),
      protocolErrors: [...cluster.log.protocolErrors.slice(0, 10), ...cluster.scheduler.errors.slice(0, 10)],
    };
  } finally {
    sampler.stop();
    await cluster.stop();
    await handle.stop();
  }
}

async function runCapacity(
  ctx: BenchContext,
  s: { serverPid: number; address: string; resourceGroupId: bigint; counted: { completions: number; lastAt: number }; polls: PollCounters; clients: SimulatedCluster["clients"] },
): Promise<W1Capacity> {
  const { w1 } = ctx.profile;
  const parts = shares(w1.jobs, w1.producers);
  const group = await ProducerGroup.start(
    PRODUCER,
    parts.map((p) => ["--address", s.address, "--resource-group", String(s.resourceGroupId), "--from", String(p.from), "--count", String(p.count), "--concurrency", String(w1.producerConcurrency)]),
  );
  try {
    const mariadbPid = ctx.mariadb.process?.pid;
    const cpu = new CpuSpan()
      .group("server", { pids: [s.serverPid] })
      .group("mariadb", { pids: mariadbPid ? [mariadbPid] : [] })
      .group("benchProcess", { self: true })
      .group("producers", { pids: group.pids });
    const statusBefore = await readStatus(ctx.mariadb.serverUrl);
    const pollsBefore = { ...s.polls };
    const completionsBefore = s.counted.completions;
    cpu.start();
    const t0 = group.go();
    const deadline = t0 + w1.timeLimitMs;
    const reports = await Promise.race([group.reports(), untilTime(deadline).then(() => undefined)]);
    const produced = reports ? reports.reduce((total, r) => total + r.produced, 0) : Number.NaN;
    const target = reports ? produced : w1.jobs;
    while (s.counted.completions - completionsBefore < target && now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    const completed = s.counted.completions - completionsBefore;
    const end = completed > 0 ? s.counted.lastAt : now();
    const reading = cpu.read();
    const databasePerJob = perUnit(statusBefore, await readStatus(ctx.mariadb.serverUrl), completed);
    const pollsWithWork = s.polls.nonEmptyPolls - pollsBefore.nonEmptyPolls;
    if (reports) await group.exit();
    else group.kill();
    const elapsedMs = end - t0;

    // A sample of the producers' jobs must be Succeeded in the database's eyes too.
    let verified = 0;
    let sample = 0;
    for (const key of (reports ?? []).flatMap((r) => r.sampleKeys)) {
      sample++;
      const { state } = await s.clients.jobs.getJobState({ jobId: BigInt(key) });
      if (state === JobState.SUCCEEDED) verified++;
    }
    const wall = reading.wallSeconds;
    return {
      offered: w1.jobs,
      produced,
      completed,
      elapsedMs: round(elapsedMs),
      jobsPerSecond: round(completed / (elapsedMs / 1000), 1),
      stoppedBy: reports && completed >= produced ? "count" : "time",
      producers: w1.producers,
      producerConcurrency: w1.producerConcurrency,
      producerReports: (reports ?? []).map(({ sampleKeys: _, ...rest }) => rest),
      cpuMsPerJob: cpuMsPer(reading, completed),
      cpuPercentOfOneCore: Object.fromEntries(Object.entries(reading.cpuSeconds).map(([k, v]) => [k, Math.round((v / wall) * 100)])),
      callsPerJob: round(4 + pollsWithWork / Math.max(1, completed), 2),
      polls: { polls: s.polls.polls - pollsBefore.polls, nonEmptyPolls: pollsWithWork, tasks: s.polls.tasks - pollsBefore.tasks },
      databasePerJob,
      verifiedSucceeded: verified,
      verifiedSample: sample,
    };
  } catch (error) {
    group.kill();
    throw error;
  }
}

function untilTime(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())).unref());
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
 * Per step, over the latency mode's jobs:
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
