/**
 * Turns a run's raw figures (results.json) into the goal table
 * (summary.json: one entry per goal — workload, metric, value, baseline,
 * ratio, goal, met), its Markdown rendering (summary.md) and SVG charts.
 * Every value and baseline comes from the same run; nothing is hard-coded
 * except the goals themselves (issue 13).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CommitCeiling } from "../ceilings/mariadb-commits.ts";
import type { NoopCeiling } from "../ceilings/noop-grpc.ts";
import type { StartupResult } from "../ceilings/startup.ts";
import type { TransportComparison } from "../ceilings/transport.ts";
import type { PacedResult } from "./open-loop.ts";
import type { W1Result } from "../workloads/w1-small-jobs.ts";
import type { W2Case } from "../workloads/w2-big-job.ts";
import type { W3Result } from "../workloads/w3-dispatch-latency.ts";
import type { W4Result } from "../workloads/w4-recovery.ts";
import type { W5Both, W5Result } from "../workloads/w5-memory.ts";
import type { W6Result } from "../workloads/w6-failover.ts";
import type { PeerName, PeerOutcome } from "./peers.ts";
import { ratio, round } from "./stats.ts";
import { formatNumber, renderBarChart } from "./svg.ts";

export type Outcome<T> = { readonly status: "measured"; readonly result: T } | { readonly status: "skipped" | "error" | "not run"; readonly reason: string };

/** The systems W1 compares. */
export type W1System = "spider-storage" | PeerName;
/** What a capacity round reports (W1Capacity's and a peer's capacity have these). */
export interface CapacityFigures {
  readonly jobsPerSecond: number;
  readonly cpuMsPerJob: Record<string, number>;
}
/** W1's capacity rounds per system, the first included (only when the profile runs more than one). */
export type W1Rounds = Partial<Record<W1System, { readonly round: number; readonly jobsPerSecond: number; readonly cpuMsPerJob: Record<string, number> }[]>>;

export interface Results {
  readonly meta: Record<string, unknown>;
  readonly ceilings: { noopGrpc?: Outcome<NoopCeiling>; mariadbCommits?: Outcome<CommitCeiling>; transport?: Outcome<TransportComparison>; startup?: Outcome<StartupResult> };
  readonly peers: Partial<Record<PeerName, PeerOutcome>>;
  /** W1's interleaved capacity rounds (issue 20, fifth part): the capacity goals read their means. */
  w1Rounds?: W1Rounds;
  readonly workloads: {
    W1?: Outcome<W1Result>;
    W2?: Outcome<{ flat: W2Case; dag: W2Case }>;
    W3?: Outcome<W3Result>;
    W4?: Outcome<W4Result>;
    W5?: Outcome<W5Both>;
    W6?: Outcome<W6Result>;
  };
}

export interface GoalEntry {
  readonly workload: string;
  readonly metric: string;
  readonly unit: string;
  readonly value: number | null;
  readonly baseline: number | null;
  readonly baselineMetric: string;
  readonly ratio: number | null;
  readonly goal: string;
  readonly met: boolean | null;
  readonly status: "measured" | "skipped" | "error" | "not run";
  readonly note?: string;
}

const PEER_LABEL: Record<PeerName, string> = { bullmq: "BullMQ", "graphile-worker": "graphile-worker", "pg-boss": "pg-boss" };

function measured<T>(outcome: Outcome<T> | PeerOutcome | undefined): T | undefined {
  return outcome?.status === "measured" ? (outcome.result as T) : undefined;
}

function why(outcome: { status: string; reason?: string } | undefined): { status: GoalEntry["status"]; note: string } {
  if (!outcome) return { status: "not run", note: "not run (excluded by --only)" };
  if (outcome.status === "measured") return { status: "measured", note: "" };
  return { status: outcome.status as GoalEntry["status"], note: `${outcome.status}: ${outcome.reason ?? ""}`.slice(0, 300) };
}

/** A peer's W1 result (bench/peers/run-peer.ts). */
export interface PeerW1 {
  readonly jobsPerSecond: number;
  readonly capacity: { readonly jobsPerSecond: number; readonly completed: number; readonly stoppedBy: string; readonly cpuMsPerJob: Record<string, number>; readonly storeCpuNote?: string };
  readonly latency: PacedResult & { readonly offeredAsFractionOfOwnCapacity: number };
  readonly durability: Record<string, string>;
  readonly settings: Record<string, unknown>;
  readonly completionSignal: string;
}

/**
 * `informational`: a figure the issue asks to report beside the goals (BullMQ's ratio, the
 * transport ratio): its `met` stays null.
 */
function entry(e: Omit<GoalEntry, "ratio" | "met" | "status"> & { status?: GoalEntry["status"]; test: (value: number, ratio: number) => boolean; ratio?: number | null; informational?: boolean }): GoalEntry {
  const r = e.ratio !== undefined ? e.ratio : e.value !== null && e.baseline !== null ? ratio(e.value, e.baseline) : null;
  const complete = e.value !== null && Number.isFinite(e.value) && (e.status === undefined || e.status === "measured");
  const { test, informational, ...rest } = e;
  return {
    ...rest,
    ratio: r,
    met: complete && !informational ? test(e.value!, r ?? Number.NaN) : null,
    status: e.status ?? (complete ? "measured" : "error"),
  };
}

export function buildGoals(results: Results): GoalEntry[] {
  const goals: GoalEntry[] = [];
  const noop = measured<NoopCeiling>(results.ceilings.noopGrpc);
  const w1 = measured<W1Result>(results.workloads.W1);
  const spiderCapacity = capacityOf(results, "spider-storage", w1?.jobsPerSecond);

  // W1 capacity (open loop, completion counted when durable), same run, every system (issue 20).
  for (const [peer, label, informational] of [
    ["graphile-worker", "graphile-worker (batched)", false],
    ["pg-boss", "pg-boss (batched)", false],
    ["bullmq", "BullMQ (AOF everysec)", true],
  ] as const) {
    const outcome = results.peers[peer];
    const peerResult = measured<PeerW1>(outcome);
    const missing = !w1 ? why(results.workloads.W1) : !peerResult ? why(outcome) : undefined;
    const pair = capacityPair(results, peer, w1?.jobsPerSecond, peerResult?.jobsPerSecond);
    goals.push(
      entry({
        workload: "W1 small jobs",
        metric: `capacity jobs/s vs ${label}`,
        unit: "jobs/s",
        value: pair.ours ?? null,
        baseline: pair.theirs ?? null,
        baselineMetric: `${PEER_LABEL[peer]} capacity jobs/s, same run, same open-loop driver${spiderCapacity.rounds.length > 1 ? `, mean of ${spiderCapacity.rounds.length} interleaved rounds each` : ""}`,
        goal: informational ? "reported (the bar after this one)" : `≥ 1.0× ${label}`,
        test: (_, r) => r >= 1,
        informational,
        ...(missing ? { status: missing.status, note: missing.note } : w1 && peerResult ? { note: `${roundsText(results, peer)}latency p50/p99 at ${w1.latency.offeredPerSecond} jobs/s offered: spider-storage ${w1.latency.latency.p50Ms}/${w1.latency.latency.p99Ms} ms, ${PEER_LABEL[peer]} ${peerResult.latency.latency.p50Ms}/${peerResult.latency.latency.p99Ms} ms` } : {}),
      }),
    );
  }
  {
    const callsPerJob = w1?.capacity.callsPerJob;
    const ceiling = noop && callsPerJob ? round(noop.callsPerSecond / callsPerJob, 1) : null;
    const missing = !w1 ? why(results.workloads.W1) : !noop ? why(results.ceilings.noopGrpc) : undefined;
    goals.push(
      entry({
        workload: "W1 small jobs",
        metric: "capacity jobs/s vs the no-op gRPC ceiling ÷ calls per job",
        unit: "jobs/s",
        value: spiderCapacity.value ?? null,
        baseline: ceiling,
        baselineMetric: "no-op gRPC calls/s ÷ RPCs per job (counted)",
        goal: "≥ 0.5× baseline",
        test: (_, r) => r >= 0.5,
        ...(missing ? { status: missing.status, note: missing.note } : { note: `${callsPerJob} RPCs per job (RegisterJob, StartJob, RegisterTaskInstance, ReportTaskSuccess, polls that returned work)` }),
      }),
    );
    const cpu = w1?.capacity.cpuMsPerJob;
    const clients = cpu ? round((cpu["benchProcess"] ?? 0) + (cpu["producers"] ?? 0), 3) : null;
    for (const [key, label, limit] of [
      ["server", "server CPU per job", 0.4],
      ["mariadb", "MariaDB CPU per job", 0.3],
    ] as const) {
      const value = cpu?.[key];
      goals.push(
        entry({
          workload: "W1 small jobs",
          metric: `${label} (capacity run, /proc)`,
          unit: "ms",
          value: value !== undefined && Number.isFinite(value) ? value : null,
          baseline: clients,
          baselineMetric: "clients' CPU per job (producers + scheduler and execution managers), same span",
          goal: `≤ ${limit} ms`,
          test: (v) => v <= limit,
          ...(!w1 ? { status: why(results.workloads.W1).status, note: why(results.workloads.W1).note } : {}),
        }),
      );
    }
  }

  const w2 = measured<{ flat: W2Case; dag: W2Case }>(results.workloads.W2);
  for (const key of ["flat", "dag"] as const) {
    const c = w2?.[key];
    const ceiling = noop && c ? round(noop.callsPerSecond / c.rpcsPerTask, 1) : null;
    const missing = !w2 ? why(results.workloads.W2) : !noop ? why(results.ceilings.noopGrpc) : undefined;
    const note = c ? `${c.tasks} tasks, ${c.rpcsPerTask} RPCs/task counted${c.timedOut ? ", TIMED OUT (credited with tasks done)" : ""}${c.state !== "Succeeded" ? `, job ended ${c.state}` : ""}` : undefined;
    goals.push(
      entry({
        workload: "W2 one big job",
        metric: `tasks/s, ${c?.shape ?? key}`,
        unit: "tasks/s",
        value: c?.tasksPerSecond ?? null,
        baseline: ceiling,
        baselineMetric: "no-op gRPC calls/s ÷ RPCs per task",
        goal: "≥ 0.5× baseline",
        test: (_, r) => r >= 0.5 && !c!.timedOut && c!.state === "Succeeded",
        ...(missing ? { status: missing.status, note: missing.note } : note ? { note } : {}),
      }),
    );
  }

  const w3 = measured<W3Result>(results.workloads.W3);
  for (const [key, label] of [
    ["startToPoll", "p99 StartJob → task in a poll"],
    ["parentToPoll", "p99 parent success → child in a poll"],
  ] as const) {
    const summary = w3?.[key];
    const missing = !w3 ? why(results.workloads.W3) : undefined;
    goals.push(
      entry({
        workload: "W3 dispatch latency",
        metric: label,
        unit: "ms",
        value: summary?.p99Ms ?? null,
        baseline: noop?.singleCallerLatency.p99Ms ?? null,
        baselineMetric: "p99 of one no-op gRPC call (one caller)",
        goal: "< 5 ms",
        test: (value) => value < 5,
        ...(missing ? { status: missing.status, note: missing.note } : w3 ? { note: `p50 ${summary!.p50Ms} ms at ${w3.offeredTasksPerSecond} tasks/s offered (½ of W1's capacity, ${w3.basedOnW1JobsPerSecond} jobs/s); under the same load a no-op GetSession (no database) every 5 ms took p50/p99 ${w3.noopUnderLoad.p50Ms}/${w3.noopUnderLoad.p99Ms} ms` } : {}),
      }),
    );
  }

  const w4 = measured<W4Result>(results.workloads.W4);
  if (!w4) {
    const missing = why(results.workloads.W4);
    goals.push(entry({ workload: "W4 recovery", metric: "time to SERVING", unit: "ms", value: null, baseline: null, baselineMetric: "raw mysql2 streaming scan", goal: "≤ 1.5× raw scan", test: () => false, status: missing.status, note: missing.note }));
  } else {
    const sized = w4.sizes.filter((s) => s.nonTerminalJobs > 0);
    const largest = sized.at(-1);
    for (const s of sized) {
      const n = s.nonTerminalJobs.toLocaleString("en-US");
      const recovered = s.status === "serving" && (s.recoveredTasksPolled ?? 0) > 0;
      const failure = s.status !== "serving" ? { status: "error" as const, note: s.error ?? "server did not serve" } : undefined;
      const notRecovered = !failure && !recovered ? "recovery not observed: no task of a recovered Running job was dispatched after SERVING" : undefined;
      const beside = `beside ${w4.terminalJobs.toLocaleString("en-US")} terminal`;
      goals.push(
        entry({
          workload: "W4 recovery",
          metric: `time to SERVING, ${n} non-terminal jobs`,
          unit: "ms",
          value: s.toServingMs ?? null,
          baseline: s.rawScanMs,
          baselineMetric: "raw mysql2 streaming scan of the same rows",
          goal: "≤ 1.5× raw scan",
          test: (_, r) => r <= 1.5 && recovered,
          ...(failure ?? { note: notRecovered ?? beside }),
        }),
      );
      if (s === largest) {
        goals.push(
          entry({
            workload: "W4 recovery",
            metric: `time to SERVING, ${n} non-terminal jobs (absolute)`,
            unit: "ms",
            value: s.toServingMs ?? null,
            baseline: s.rawScanMs,
            baselineMetric: "raw mysql2 streaming scan of the same rows",
            goal: "< 10 000 ms",
            test: (value) => value < 10_000 && recovered,
            ...(failure ?? { note: notRecovered ?? beside }),
          }),
        );
      }
      goals.push(
        entry({
          workload: "W4 recovery",
          metric: `peak RSS during recovery, ${n} non-terminal jobs`,
          unit: "MiB",
          value: s.peakRssMiB ?? null,
          baseline: s.rssAfterMiB ?? null,
          baselineMetric: "settled RSS after SERVING (lowest of 2 s of samples from 1 s after)",
          goal: "≤ 1.2× settled RSS after",
          test: (_, r) => r <= 1.2 && recovered,
          ...(failure ?? { note: notRecovered ?? `${s.rssSamplesDuringRecovery ?? "?"} RSS samples during start-up and recovery; RSS at SERVING ${s.rssAtServingMiB ?? "?"} MiB` }),
        }),
      );
    }
  }

  const w5 = measured<W5Both>(results.workloads.W5);
  const w5Missing = !w5 ? why(results.workloads.W5) : undefined;
  for (const [variant, label] of [
    ["sameGraph", "every job the same graph"],
    ["distinctGraphs", "a distinct graph per job"],
  ] as const) {
    const r: W5Result | undefined = w5?.[variant];
    goals.push(
      entry({
        workload: "W5 memory",
        metric: `RSS per cached Running task, payload excluded, ${r ? r.tasks.toLocaleString("en-US") : "?"} tasks, ${label}`,
        unit: "bytes",
        value: r?.bytesPerTask ?? null,
        baseline: r?.graphJsonBytesPerTask ?? null,
        baselineMetric: "task graph JSON bytes per task (what the client sent)",
        goal: "< 1 KiB (1024 bytes)",
        test: (value) => value < 1024 && r!.allRunning,
        ...(w5Missing ? { status: w5Missing.status, note: w5Missing.note } : { note: `RSS ${r!.rssBeforeMiB} → ${r!.rssAfterMiB} MiB` }),
      }),
    );
  }

  const w6 = measured<W6Result>(results.workloads.W6);
  const w6Missing = !w6 ? why(results.workloads.W6) : undefined;
  goals.push(
    entry({
      workload: "W6 high availability",
      metric: "W1 jobs/s on a 3-node Galera cluster",
      unit: "jobs/s",
      value: w6?.w1Galera.jobsPerSecond ?? null,
      baseline: w6?.w1Single.jobsPerSecond ?? null,
      baselineMetric: "W1 jobs/s on one MariaDB, measured right before",
      goal: "≥ 0.5× one MariaDB",
      test: (_, r) => r >= 0.5,
      ...(w6Missing ? { status: w6Missing.status, note: w6Missing.note } : {}),
    }),
  );
  goals.push(
    entry({
      workload: "W6 high availability",
      metric: `failover: leader SIGKILL → standby SERVING, ${w6 ? w6.inFlightJobs.toLocaleString("en-US") : "?"} jobs in flight`,
      unit: "ms",
      value: w6?.takeoverMs ?? null,
      baseline: w6?.leaseTtlMs ?? null,
      baselineMetric: "lease TTL (runtime.lease.ttl_ms)",
      goal: "≤ TTL + 2 000 ms, 0 jobs lost",
      test: (value) => value <= w6!.leaseTtlMs + 2_000 && w6!.lost === 0,
      ...(w6Missing
        ? { status: w6Missing.status, note: w6Missing.note }
        : { note: `recovery ${w6!.recoveryMs} ms of it; ${w6!.succeededAfter} of ${w6!.inFlightJobs} Succeeded on the new leader (${w6!.lost} lost) in ${w6!.drainMs} ms` }),
    }),
  );

  const startup = measured<StartupResult>(results.ceilings.startup);
  const startupMissing = !startup ? why(results.ceilings.startup) : undefined;
  for (const [key, label, limit] of [
    ["portBoundMedianMs", "spawn → port bound", 150],
    ["firstAnswerMedianMs", "spawn → first gRPC answer (health NOT_SERVING)", undefined],
    ["servingMedianMs", "spawn → SERVING", 300],
  ] as const) {
    goals.push(
      entry({
        workload: "Start-up (empty database)",
        metric: `${label}, median of ${startup?.repetitions ?? "?"} restarts`,
        unit: "ms",
        value: startup?.[key] ?? null,
        baseline: startup?.bareNodeMedianMs ?? null,
        baselineMetric: "bare `node -e ''` spawn → exit, same run",
        goal: limit === undefined ? "reported (connections are held from the port bound until the gRPC server takes them)" : `≤ ${limit} ms`,
        test: (value) => limit === undefined || value <= limit,
        informational: limit === undefined,
        ...(startupMissing
          ? { status: startupMissing.status, note: startupMissing.note }
          : {
              note: `the bin entry, running the bundle; from the sources (same loop): ${startup!.sources[key]} ms; first start on a new database (migrations applied): port ${startup!.firstStart.portBoundMs} ms, SERVING ${startup!.firstStart.servingMs} ms`,
            }),
      }),
    );
  }

  const transport = measured<TransportComparison>(results.ceilings.transport);
  const transportMissing = !transport ? why(results.ceilings.transport) : undefined;
  goals.push(
    entry({
      workload: "Transport (no-op RPC)",
      metric: `calls/s, @connectrpc/connect-node server vs @grpc/grpc-js server, grpc-js client, ${transport?.concurrency ?? "?"} callers`,
      unit: "calls/s",
      value: transport?.connectCallsPerSecond ?? null,
      baseline: transport?.grpcJsCallsPerSecond ?? null,
      baselineMetric: "@grpc/grpc-js server calls/s, same client, same run",
      goal: "reported (a switch needs ≥ 1.2× and the whole suite passing; issue 20.6)",
      test: (_, r) => r >= 1.2,
      informational: true,
      ...(transportMissing
        ? { status: transportMissing.status, note: transportMissing.note }
        : { note: `server CPU per call: grpc-js ÷ connect-node = ${transport!.serverCpuRatio}×; connect client on connect server ${transport!.connectClientOnConnectServer.callsPerSecond} calls/s` }),
    }),
  );
  return goals;
}

function cell(x: number | null | undefined, unit = ""): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : `${formatNumber(x)}${unit}`;
}

function metText(goal: GoalEntry): string {
  if (goal.met === true) return "✅ met";
  if (goal.met === false) return "❌ missed";
  return goal.status;
}

export function renderMarkdown(results: Results, goals: GoalEntry[]): string {
  const lines: string[] = [];
  const meta = results.meta as { mode: string; startedAt: string; durationS: number; machine: Record<string, unknown>; loadavg1AtStart?: number; loadavg1AtEnd?: number };
  lines.push(`# spider-storage benchmark — ${meta.mode} run, ${meta.startedAt}`);
  lines.push("");
  lines.push(`Machine: ${String(meta.machine["cpus"])} × ${String(meta.machine["cpuModel"])}, ${String(meta.machine["memoryGiB"])} GiB, Node ${String(meta.machine["node"])}, ${String(meta.machine["mariadb"])}. Run took ${meta.durationS} s; 1-minute load average ${meta.loadavg1AtStart ?? "?"} at the start, ${meta.loadavg1AtEnd ?? "?"} at the end (2 cores: anything above ~0.3 before the run means other work shared the machine; per-step figures in results.json).`);
  lines.push("");
  lines.push("## Goals");
  lines.push("");
  lines.push("| Workload | Metric | Value | Baseline (same run) | Ratio | Goal | Met |");
  lines.push("|---|---|---:|---|---:|---|---|");
  for (const g of goals) {
    const baseline = g.baseline === null ? "—" : `${formatNumber(g.baseline)} (${g.baselineMetric})`;
    lines.push(`| ${g.workload} | ${g.metric} | ${cell(g.value)} ${g.value === null ? "" : g.unit} | ${baseline} | ${cell(g.ratio)}${g.ratio === null ? "" : "×"} | ${g.goal} | ${metText(g)}${g.note ? ` — ${g.note.replace(/\|/g, "/").replace(/\n/g, " ")}` : ""} |`);
  }
  lines.push("");

  lines.push("## W1 small jobs, every system (capacity and latency, same run)");
  lines.push("");
  const w1 = measured<W1Result>(results.workloads.W1);
  lines.push(
    "Capacity: producers in their own processes enqueue without waiting (open loop), workers complete each job with a ~100-byte result, a job counts when its completion is durable; jobs/s = completed ÷ (start → last durable completion). " +
      `Latency: the same job offered at ${w1 ? `${w1.latency.offeredPerSecond} jobs/s (½ of spider-storage's capacity)` : "half of spider-storage's capacity"} to every system, at most ${(results.meta as { profile?: { concurrency?: number } }).profile?.concurrency ?? 32} in flight, from just before the enqueue call to the durable completion observed.` +
      ((results.w1Rounds?.["spider-storage"]?.length ?? 0) > 1
        ? ` Capacity is the mean of ${results.w1Rounds!["spider-storage"]!.length} rounds per system, interleaved across systems (round 2 in the reverse order of round 1, so that the machine's drift during the run falls on every system alike); the rounds are in brackets; the latency mode, the CPU per job and the figures below are the first round's.`
        : ""),
  );
  lines.push("");
  lines.push("| System | Capacity jobs/s | vs spider-storage | Latency p50 / p99 ms | Offered ÷ own capacity | CPU ms per job (capacity run) | Durable settings (read back) | Completion counted at |");
  lines.push("|---|---:|---:|---|---:|---|---|---|");
  const cpuText = (cpu: Record<string, number> | undefined) => (cpu ? Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(", ") : "—");
  const settingsText = (d: Record<string, string> | undefined) => (d ? Object.entries(d).map(([k, v]) => `${k}=${v}`).join(", ") : "—");
  if (w1) {
    lines.push(
      `| spider-storage | ${capacityCell(results, "spider-storage", w1.jobsPerSecond)} | 1× | ${w1.latency.latency.p50Ms} / ${w1.latency.latency.p99Ms} | ${cell(ratio(w1.latency.offeredPerSecond, w1.jobsPerSecond))} | ${cpuText(w1.capacity.cpuMsPerJob)} | ${settingsText(w1.durability)} | ReportTaskSuccess answered OK (the job's Succeeded state committed) |`,
    );
  } else lines.push(`| spider-storage | ${why(results.workloads.W1).note.replace(/\|/g, "/").replace(/\n/g, " ").slice(0, 200)} | | | | | | |`);
  for (const peer of ["bullmq", "graphile-worker", "pg-boss"] as const) {
    const outcome = results.peers[peer];
    const r = measured<PeerW1>(outcome);
    if (r) {
      const pair = w1 ? capacityPair(results, peer, w1.jobsPerSecond, r.jobsPerSecond) : undefined;
      lines.push(
        `| ${PEER_LABEL[peer]} | ${capacityCell(results, peer, r.jobsPerSecond)} | ${pair ? cell(ratio(pair.theirs!, pair.ours!)) + "×" : "—"} | ${r.latency.latency.p50Ms} / ${r.latency.latency.p99Ms} | ${cell(r.latency.offeredAsFractionOfOwnCapacity)} | ${cpuText(r.capacity.cpuMsPerJob)} | ${settingsText(r.durability)} | ${r.completionSignal.replace(/\|/g, "/")} |`,
      );
    } else lines.push(`| ${PEER_LABEL[peer]} | ${why(outcome).note.replace(/\|/g, "/").replace(/\n/g, " ").slice(0, 200)} | | | | | | |`);
  }
  lines.push("");
  lines.push("CPU per job is read from /proc over the capacity run: for spider-storage the server, MariaDB, the bench process (simulated scheduler and execution managers) and the producer processes; for a peer its worker process, its producer processes and its store (Redis's process; for PostgreSQL every `postgres` process on the machine, a shared server). Peers' settings: " +
    ["bullmq", "graphile-worker", "pg-boss"].map((peer) => {
      const r = measured<PeerW1>(results.peers[peer as PeerName]);
      return r ? `${PEER_LABEL[peer as PeerName]} ${JSON.stringify(r.settings)}` : `${PEER_LABEL[peer as PeerName]} —`;
    }).join("; ") + ".");
  if (w1) {
    const d = w1.capacity.databasePerJob;
    lines.push("");
    lines.push(
      `spider-storage's capacity run: ${w1.capacity.completed} jobs from ${w1.capacity.producers} producer processes × ${w1.capacity.producerConcurrency} enqueues in flight (stopped by ${w1.capacity.stoppedBy}); ${w1.capacity.callsPerJob} RPCs per job; ${d.Questions} statements per job (${d.Com_select} SELECT, ${d.Com_insert} INSERT, ${round(d.Com_update + (d.Com_update_multi ?? 0), 2)} UPDATE, ${d.Com_commit} COMMIT), ${d.Innodb_data_fsyncs} InnoDB data-file fsyncs and ${d.Innodb_os_log_fsyncs} log fsyncs per job; ${w1.capacity.verifiedSucceeded} of ${w1.capacity.verifiedSample} sampled jobs Succeeded by GetJobState. ` +
        `CPU (% of one core): ${Object.entries(w1.capacity.cpuPercentOfOneCore).map(([k, v]) => `${k} ${v} %`).join(", ")}. Payload ${w1.payloadBytes} B, result ${w1.resultBytes} B per job.`,
    );
    const off = w1.withoutGroupCommit;
    if (off) {
      const o = off.databasePerJob;
      const statements = (x: typeof d) => `${x.Questions} statements (${x.Com_insert} INSERT, ${round(x.Com_update + x.Com_update_multi, 2)} UPDATE, ${x.Com_select} SELECT, ${x.Com_commit} COMMIT, ${x.Com_rollback} ROLLBACK), ${x.Innodb_data_fsyncs} data-file fsyncs`;
      lines.push("");
      lines.push(
        `Group commit, same run: with \`runtime.db.group_commit.enabled=false\` (one statement per request; ${off.completed} jobs, measured first) a job cost ${statements(o)}, server CPU ${off.cpuMsPerJob["server"]} ms and MariaDB CPU ${off.cpuMsPerJob["mariadb"]} ms, capacity ${cell(off.jobsPerSecond)} jobs/s; ` +
          `with group commit (the default) ${statements(d)}, server CPU ${w1.capacity.cpuMsPerJob["server"]} ms and MariaDB CPU ${w1.capacity.cpuMsPerJob["mariadb"]} ms, capacity ${cell(w1.capacity.jobsPerSecond)} jobs/s (${cell(ratio(w1.capacity.jobsPerSecond, off.jobsPerSecond))}×).`,
      );
    }
    lines.push("");
    lines.push("Where a spider-storage job's latency goes at the offered rate (p50 / p99 ms): " + Object.entries(w1.latency.phases).map(([name, p]) => `${name} ${p.p50Ms} / ${p.p99Ms}`).join(", ") + ".");
  }
  lines.push("");

  lines.push("## Ceilings (same run)");
  lines.push("");
  const noop = measured<NoopCeiling>(results.ceilings.noopGrpc);
  const commits = measured<CommitCeiling>(results.ceilings.mariadbCommits);
  lines.push("| Ceiling | Rate | Latency p50 / p99 |");
  lines.push("|---|---:|---|");
  lines.push(noop ? `| No-op unary gRPC calls over loopback, ${noop.concurrency} callers | ${cell(noop.callsPerSecond)} calls/s | ${noop.latencyAtConcurrency.p50Ms} / ${noop.latencyAtConcurrency.p99Ms} ms (one caller: ${noop.singleCallerLatency.p50Ms} / ${noop.singleCallerLatency.p99Ms} ms) |` : `| No-op gRPC | ${why(results.ceilings.noopGrpc).note} | |`);
  lines.push(commits ? `| Durable MariaDB commits (single-row INSERT, autocommit, flush_log_at_trx_commit=${commits.flushLogAtTrxCommit}), ${commits.connections} connections | ${cell(commits.commitsPerSecond)} commits/s | ${commits.latency.p50Ms} / ${commits.latency.p99Ms} ms |` : `| MariaDB commits | ${why(results.ceilings.mariadbCommits).note} | |`);
  lines.push("");
  const transport = measured<TransportComparison>(results.ceilings.transport);
  lines.push("### Transport: no-op unary RPC, @grpc/grpc-js vs @connectrpc/connect-node (measured only)");
  lines.push("");
  if (transport) {
    lines.push(`Each server in its own process; ${transport.concurrency} callers for ${transport.durationMsPerRound} ms per round, rounds alternating. Versions: ${Object.entries(transport.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`);
    lines.push("");
    lines.push("| Server | Client | calls/s | server CPU µs/call | client CPU µs/call | p50 / p99 ms |");
    lines.push("|---|---|---:|---:|---:|---|");
    for (const r of [...transport.rounds, transport.connectClientOnConnectServer]) {
      lines.push(`| ${r.server} | ${r.client} | ${cell(r.callsPerSecond)} | ${r.serverCpuUsPerCall} | ${r.clientCpuUsPerCall} | ${r.latency.p50Ms} / ${r.latency.p99Ms} |`);
    }
    lines.push("");
    lines.push(`connect-node ÷ grpc-js server, same grpc-js client: **${transport.ratio}×** calls/s (${cell(transport.connectCallsPerSecond)} vs ${cell(transport.grpcJsCallsPerSecond)}); server CPU per call grpc-js ÷ connect-node ${transport.serverCpuRatio}×.`);
  } else lines.push(why(results.ceilings.transport).note);
  lines.push("");
  const startup = measured<StartupResult>(results.ceilings.startup);
  lines.push("### Start-up on an empty database (measured only)");
  lines.push("");
  if (startup) {
    lines.push(`Medians of ${startup.repetitions} restarts on an empty, migrated database, a bare \`node -e ''\`, the \`bin\` entry (running the bundle${startup.bundleBuilt ? ", built for this run" : ""}) and the sources (\`node src/cli/main.ts\`) alternating: bare node ${startup.bareNodeMedianMs} ms (spawn → exit); bundle: spawn → port bound ${startup.portBoundMedianMs} ms, spawn → first gRPC answer ${startup.firstAnswerMedianMs} ms, spawn → SERVING ${startup.servingMedianMs} ms; sources: ${startup.sources.portBoundMedianMs}, ${startup.sources.firstAnswerMedianMs} and ${startup.sources.servingMedianMs} ms (each: ${startup.sources.starts.map((x) => `${x.portBoundMs}/${x.firstAnswerMs}/${x.servingMs}`).join(", ")}). First start on a new database (migrations applied): port ${startup.firstStart.portBoundMs} ms, first answer ${startup.firstStart.firstAnswerMs} ms, SERVING ${startup.firstStart.servingMs} ms. Each start: ${startup.starts.map((x) => `${x.portBoundMs}/${x.firstAnswerMs}/${x.servingMs}`).join(", ")} ms (port/first answer/SERVING); bare node: ${startup.bareNodeMs.join(", ")} ms.`);
  } else lines.push(why(results.ceilings.startup).note);
  lines.push("");

  const w4 = measured<W4Result>(results.workloads.W4);
  if (w4) {
    lines.push(`## W4 recovery detail (${w4.terminalJobs.toLocaleString("en-US")} terminal jobs beside)`);
    lines.push("");
    lines.push("| Non-terminal jobs | Checkpoints | Raw scan ms | Time to SERVING ms | Ratio | Port bound at ms | Recovery phase ms (server log) | Peak RSS MiB (sampled) | Settled RSS after MiB | Recovered tasks polled |");
    lines.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const s of w4.sizes) {
      const at = (msg: string) => s.timeline?.find((t) => t.msg === msg)?.atMs;
      const listening = at("port bound (loading the server)") ?? at("listening (not serving yet)");
      const recoveryStart = at("recovery started");
      const recoveryEnd = at("recovery finished");
      const recoveryMs = recoveryStart !== undefined && recoveryEnd !== undefined ? recoveryEnd - recoveryStart : undefined;
      lines.push(`| ${s.nonTerminalJobs.toLocaleString("en-US")} | ${s.inserted.checkpoints.toLocaleString("en-US")} | ${cell(s.rawScanMs)} | ${s.status === "serving" ? cell(s.toServingMs) : `error: ${(s.error ?? "").slice(0, 80)}`} | ${cell(ratio(s.toServingMs ?? Number.NaN, s.rawScanMs))}× | ${cell(listening)} | ${cell(recoveryMs)} | ${cell(s.peakRssMiB)} | ${cell(s.rssAfterMiB)} | ${s.recoveredTasksPolled ?? "—"} |`);
    }
    lines.push("");
    lines.push(`Time to SERVING runs from spawning the \`bin\` entry \`npm start\` runs (\`src/cli/spider-storage.js serve\`: the bundle${w4.bundleBuilt ? ", built for this run" : ""}) to the first GetSession answered OK. The 0 row is the fixed start-up cost (Node start and module loading, connect, lease, migrations check) beside the same terminal rows. \"Port bound\" and \"recovery phase\" come from the server's own log timestamps (ms after spawn), for reading where the time went; the goals use the measured time to SERVING.`);
    lines.push("");
  }
  const errors = Object.entries(results.workloads).filter(([, o]) => o && o.status === "error");
  if (errors.length) {
    lines.push("## Errors");
    lines.push("");
    for (const [name, o] of errors) lines.push(`- ${name}: ${(o as { reason: string }).reason.slice(0, 500)}`);
    lines.push("");
  }
  return lines.join("\n");
}

export async function writeCharts(dir: string, results: Results): Promise<string[]> {
  const written: string[] = [];
  const write = async (name: string, svg: string) => {
    await writeFile(join(dir, name), svg);
    written.push(name);
  };
  const w1 = measured<W1Result>(results.workloads.W1);
  const systems: { label: string; jobsPerSecond: number | null; p50: number | null; p99: number | null; note?: string }[] = [
    { label: "spider-storage", jobsPerSecond: capacityOf(results, "spider-storage", w1?.jobsPerSecond).value ?? null, p50: w1?.latency.latency.p50Ms ?? null, p99: w1?.latency.latency.p99Ms ?? null },
  ];
  for (const peer of ["bullmq", "graphile-worker", "pg-boss"] as const) {
    const outcome = results.peers[peer];
    const r = measured<PeerW1>(outcome);
    systems.push({ label: PEER_LABEL[peer], jobsPerSecond: r ? (capacityPair(results, peer, w1?.jobsPerSecond, r.jobsPerSecond).theirs ?? null) : null, p50: r?.latency.latency.p50Ms ?? null, p99: r?.latency.latency.p99Ms ?? null, note: outcome?.status ?? "not run" });
  }
  await write("w1-throughput.svg", renderBarChart({ title: `W1 small jobs: capacity${capacityOf(results, "spider-storage", w1?.jobsPerSecond).rounds.length > 1 ? " (mean of interleaved rounds)" : ""}`, unit: "jobs/s, open loop, completion counted when durable, higher is better", series: ["jobs/s"], bars: systems.map((s) => ({ label: s.label, values: [s.jobsPerSecond], ...(s.note && s.jobsPerSecond === null ? { note: s.note } : {}) })) }));
  await write("w1-latency.svg", renderBarChart({ title: `W1 small jobs: latency at ${w1 ? `${w1.latency.offeredPerSecond} jobs/s` : "a fixed rate"}`, unit: "ms from enqueue to durable completion, same offered rate for all, lower is better", series: ["p50", "p99"], bars: systems.map((s) => ({ label: s.label, values: [s.p50, s.p99], ...(s.note && s.p50 === null ? { note: s.note } : {}) })) }));

  const w2 = measured<{ flat: W2Case; dag: W2Case }>(results.workloads.W2);
  const noop = measured<NoopCeiling>(results.ceilings.noopGrpc);
  if (w2 && noop) {
    await write(
      "w2-throughput.svg",
      renderBarChart({
        title: "W2 one big job: tasks/s",
        unit: "measured vs goal (0.5 × no-op gRPC calls/s ÷ RPCs per task)",
        series: ["measured", "goal"],
        bars: [w2.flat, w2.dag].map((c) => ({ label: c.shape, values: [c.tasksPerSecond, round((0.5 * noop.callsPerSecond) / c.rpcsPerTask, 1)] })),
      }),
    );
  }
  const w3 = measured<W3Result>(results.workloads.W3);
  if (w3) {
    await write(
      "w3-dispatch-latency.svg",
      renderBarChart({
        title: "W3 dispatch latency",
        unit: `ms until the task is received in a poll, at ${w3.offeredTasksPerSecond} tasks/s (½ of W1 capacity)`,
        series: ["p50", "p99"],
        bars: [
          { label: "StartJob → task polled", values: [w3.startToPoll.p50Ms, w3.startToPoll.p99Ms] },
          { label: "parent success → child polled", values: [w3.parentToPoll.p50Ms, w3.parentToPoll.p99Ms] },
        ],
        goal: { value: 5, label: "goal: p99 < 5 ms" },
      }),
    );
  }
  const w4 = measured<W4Result>(results.workloads.W4);
  if (w4) {
    await write(
      "w4-recovery.svg",
      renderBarChart({
        title: `W4 recovery beside ${w4.terminalJobs.toLocaleString("en-US")} terminal jobs`,
        unit: "ms: process start → SERVING, vs a raw streaming scan of the same rows",
        series: ["time to SERVING", "raw scan"],
        bars: w4.sizes.map((s) => ({ label: `${s.nonTerminalJobs.toLocaleString("en-US")} non-terminal`, values: [s.toServingMs ?? null, s.rawScanMs], ...(s.status !== "serving" ? { note: "error" } : {}) })),
      }),
    );
  }
  return written;
}

/**
 * The README's "## Performance" section, from this run's results: written to
 * readme-section.md beside summary.md, and pasted into README.md by hand
 * after a full run (others edit the README too).
 */
export function renderReadmeSection(results: Results, goals: GoalEntry[]): string {
  const meta = results.meta as { mode: string; startedAt: string; durationS: number; machine: Record<string, unknown>; loadavg1AtStart?: number; loadavg1AtEnd?: number };
  const lines: string[] = [];
  lines.push("## Performance");
  lines.push("");
  lines.push(
    `Measured by \`npm run bench\` (${meta.mode} run of ${meta.startedAt.slice(0, 10)}, ${meta.durationS} s) on this project's machine: ${String(meta.machine["cpus"])} cores (${String(meta.machine["cpuModel"])}), ${String(meta.machine["memoryGiB"])} GiB, Node ${String(meta.machine["node"])}, ${String(meta.machine["mariadb"])}; 1-minute load average ${meta.loadavg1AtStart ?? "?"} at the start and ${meta.loadavg1AtEnd ?? "?"} at the end. ` +
      "The server, MariaDB (`innodb_flush_log_at_trx_commit=1`), the simulated scheduler and execution managers (real gRPC on loopback) and the peers' stores all share those cores. " +
      "Every figure is set against a baseline measured in the same run; how each is measured, and what \"completion\" means for each system, is in [bench/README.md](bench/README.md). Raw figures: [bench/results/](bench/results/) (`summary.json`, `results.json`, charts).",
  );
  lines.push("");
  lines.push("| Workload | Metric | Value | Baseline (same run) | Ratio | Goal | Met |");
  lines.push("|---|---|---:|---|---:|---|---|");
  for (const g of goals) {
    const baseline = g.baseline === null ? "—" : `${formatNumber(g.baseline)} (${g.baselineMetric})`;
    lines.push(`| ${g.workload} | ${g.metric} | ${cell(g.value)} ${g.value === null ? "" : g.unit} | ${baseline} | ${cell(g.ratio)}${g.ratio === null ? "" : "×"} | ${g.goal} | ${metText(g)} |`);
  }
  lines.push("");
  const md = renderMarkdown(results, goals);
  const w1Table = md.slice(md.indexOf("## W1 small jobs"), md.indexOf("## Ceilings"));
  const ceilings = md.slice(md.indexOf("## Ceilings"), md.includes("## W4 recovery detail") ? md.indexOf("## W4 recovery detail") : undefined);
  lines.push(w1Table.replace("## W1 small jobs, every system (capacity and latency, same run)", "### W1 small jobs, every system (capacity and latency, same run, 16 jobs worked at once)").trimEnd());
  lines.push("");
  lines.push(ceilings.replace("## Ceilings (same run)", "### Ceilings (same run)").split("\n## ")[0]!.trimEnd());
  lines.push("");
  if (md.includes("## W4 recovery detail")) {
    lines.push(md.slice(md.indexOf("## W4 recovery detail")).split("\n## ")[0]!.replace("## W4 recovery detail", "### W4 recovery detail").trimEnd());
    lines.push("");
  }
  lines.push("![W1 throughput](bench/results/w1-throughput.svg)");
  lines.push("![W1 latency](bench/results/w1-latency.svg)");
  lines.push("![W2 throughput](bench/results/w2-throughput.svg)");
  lines.push("![W3 dispatch latency](bench/results/w3-dispatch-latency.svg)");
  lines.push("![W4 recovery](bench/results/w4-recovery.svg)");
  return lines.join("\n") + "\n";
}

export async function writeResults(dir: string, results: Results): Promise<{ goals: GoalEntry[]; files: string[] }> {
  await mkdir(dir, { recursive: true });
  const goals = buildGoals(results);
  const json = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? String(v) : v), 2) + "\n";
  await writeFile(join(dir, "results.json"), json(results));
  await writeFile(join(dir, "summary.json"), json({ meta: results.meta, goals }));
  await writeFile(join(dir, "summary.md"), renderMarkdown(results, goals) + "\n");
  await writeFile(join(dir, "readme-section.md"), renderReadmeSection(results, goals));
  const charts = await writeCharts(dir, results);
  return { goals, files: ["results.json", "summary.json", "summary.md", "readme-section.md", ...charts] };
}

/** A system's W1 capacity: the mean over its interleaved rounds when there are several, else its one run. */
function capacityOf(results: Results, system: W1System, single: number | undefined): { value: number | undefined; rounds: number[] } {
  const rounds = results.w1Rounds?.[system]?.map((r) => r.jobsPerSecond) ?? [];
  // Means only where every round ran for this system and for spider-storage (a failed round: the first runs compare).
  const ours = results.w1Rounds?.["spider-storage"]?.length ?? 0;
  if (rounds.length > 1 && rounds.length === ours) return { value: round(rounds.reduce((a, b) => a + b, 0) / rounds.length, 1), rounds };
  return { value: single, rounds: [] };
}

/** spider-storage's and a peer's capacity compared: both means when both ran every round, else both first runs. */
export function capacityPair(results: Results, peer: PeerName, ours: number | undefined, theirs: number | undefined): { ours: number | undefined; theirs: number | undefined } {
  const a = capacityOf(results, "spider-storage", ours);
  const b = capacityOf(results, peer, theirs);
  return a.rounds.length > 1 && b.rounds.length === a.rounds.length ? { ours: a.value, theirs: b.value } : { ours, theirs };
}

/** "1,028 (rounds 1,028 / 950)", or the one figure. */
function capacityCell(results: Results, system: W1System, single: number): string {
  const { value, rounds } = capacityOf(results, system, single);
  return rounds.length > 1 ? `${cell(value!)} (rounds ${rounds.map((r) => cell(r)).join(" / ")})` : cell(single);
}

/** The rounds behind a capacity ratio, for its note. */
function roundsText(results: Results, peer: PeerName): string {
  const ours = results.w1Rounds?.["spider-storage"];
  const theirs = results.w1Rounds?.[peer];
  if (!ours || !theirs || ours.length < 2 || theirs.length !== ours.length) return "";
  return `interleaved rounds: spider-storage ${ours.map((r) => r.jobsPerSecond).join(" / ")}, ${PEER_LABEL[peer]} ${theirs.map((r) => r.jobsPerSecond).join(" / ")} jobs/s; `;
}
