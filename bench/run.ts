#!/usr/bin/env node
/**
 * `npm run bench` — the benchmark suite (issue 13). Starts its own durable
 * MariaDB (innodb_flush_log_at_trx_commit=1), measures the ceilings (no-op
 * gRPC calls/s, durable commits/s, grpc-js vs connect-node, start-up beside a
 * bare node), runs W1–W5 against the real server over real gRPC on loopback
 * and W1 (capacity and latency, issue 20) against the peers (bench/peers, D17), W6 (W1
 * and a leader failover on a 3-node Galera cluster it starts), and writes
 * results.json, summary.json, summary.md and SVG charts.
 *
 *   npm run bench                     full run → bench/results/ (< 15 min here)
 *   npm run bench -- --smoke          seconds-long sizes → bench/results/raw/smoke/ (CI)
 *   npm run bench -- --only W1,W3     some workloads → bench/results/raw/partial/
 *   options: --out DIR, --no-peers, --wait-quiet SECONDS (wait up to that long
 *   for the 1-minute load average to drop below 1 first), --cpu-prof (V8 CPU profiles of every
 *   server process → bench/results/raw/profiles/, for chasing a missed goal)
 *
 * Exit code: 0 when every workload ran, whatever the goals say (a missed goal
 * is data); 1 when a workload crashed (its error is in the results too); 2 on
 * usage errors.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { createConnection } from "mysql2/promise";
import { startMariaDb, type PrivateMariaDb } from "../testkit/mariadb.ts";
import { measureMariaDbCommits } from "./ceilings/mariadb-commits.ts";
import { measureNoopGrpc } from "./ceilings/noop-grpc.ts";
import { measureStartup } from "./ceilings/startup.ts";
import { measureTransports } from "./ceilings/transport.ts";
import { ensurePeersInstalled, PEERS, runPeer, type PeerName } from "./lib/peers.ts";
import { FULL, SMOKE, type Profile } from "./lib/profile.ts";
import { writeResults, type CapacityFigures, type Outcome, type Results, type W1Rounds, type W1System } from "./lib/report.ts";
import { now, round } from "./lib/stats.ts";
import type { BenchContext } from "./workloads/context.ts";
import { runW1, runW1CapacityRound } from "./workloads/w1-small-jobs.ts";
import { runW2 } from "./workloads/w2-big-job.ts";
import { runW3 } from "./workloads/w3-dispatch-latency.ts";
import { runW4 } from "./workloads/w4-recovery.ts";
import { runW5Both } from "./workloads/w5-memory.ts";
import { runW6 } from "./workloads/w6-failover.ts";
import { startGaleraCluster } from "../testkit/galera.ts";

const WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6"] as const;
type WorkloadName = (typeof WORKLOADS)[number];

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: npm run bench [-- --smoke] [--only W1,W2,W3,W4,W5,W6] [--no-peers] [--wait-quiet SECONDS] [--cpu-prof] [--out DIR]\n`);
  process.exit(2);
}

if (Number(process.versions.node.split(".")[0]) < 24) {
  process.stderr.write(`bench: needs Node 24 (found ${process.versions.node}); run it with \`npm run bench\` after \`npm ci\`, which brings Node 24 (DECISIONS D1)\n`);
  process.exit(1);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      smoke: { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string" },
      "no-peers": { type: "boolean", default: false },
      "cpu-prof": { type: "boolean", default: false },
      "wait-quiet": { type: "string" },
    },
  });
}
try {
  args = parse();
} catch (error) {
  usage((error as Error).message);
}

const profile: Profile = args.values.smoke ? SMOKE : FULL;
const only = args.values.only?.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
for (const name of only ?? []) if (!WORKLOADS.includes(name as WorkloadName)) usage(`unknown workload ${name} (known: ${WORKLOADS.join(", ")})`);
const selected = new Set<WorkloadName>((only as WorkloadName[] | undefined) ?? WORKLOADS);
const outDir =
  args.values.out ??
  fileURLToPath(new URL(args.values.smoke ? "./results/raw/smoke/" : only ? "./results/raw/partial/" : "./results/", import.meta.url));

if (args.values["cpu-prof"]) {
  process.env["BENCH_CPU_PROF_DIR"] = fileURLToPath(new URL("./results/raw/profiles/", import.meta.url));
}

const started = now();
const log = (line: string) => process.stderr.write(`[bench ${((now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
const runId = `${Date.now().toString(36)}`;
let crashed = false;

/** Each step's duration and the machine's 1-minute load average around it: other work on this 2-core machine skews every figure. */
const steps: { step: string; seconds: number; loadavg1Before: number; loadavg1After: number }[] = [];

async function attempt<T>(name: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  log(`${name}: start (load average ${loadavg()[0]!.toFixed(2)})`);
  const t0 = now();
  const loadBefore = round(loadavg()[0]!, 2);
  const record = () => steps.push({ step: name, seconds: round((now() - t0) / 1000, 1), loadavg1Before: loadBefore, loadavg1After: round(loadavg()[0]!, 2) });
  try {
    const result = await fn();
    record();
    log(`${name}: done in ${((now() - t0) / 1000).toFixed(1)} s`);
    return { status: "measured", result };
  } catch (error) {
    record();
    crashed = true;
    const reason = (error as Error).stack ?? String(error);
    log(`${name}: CRASHED — ${reason}`);
    return { status: "error", reason };
  }
}

async function mariaDbVersion(mariadb: PrivateMariaDb): Promise<string> {
  const connection = await createConnection({ uri: mariadb.serverUrl });
  try {
    const [rows] = (await connection.query("SELECT VERSION() AS v")) as unknown as [{ v: string }[]];
    return `MariaDB ${rows[0]!.v}`;
  } finally {
    await connection.end();
  }
}

const waitQuiet = args.values["wait-quiet"] === undefined ? 0 : Number(args.values["wait-quiet"]);
if (!Number.isFinite(waitQuiet) || waitQuiet < 0) usage("--wait-quiet takes a number of seconds");
if (waitQuiet > 0) {
  // Other work on this 2-core machine skews every figure: give it a chance to finish.
  const until = now() + waitQuiet * 1000;
  while (loadavg()[0]! >= 1 && now() < until) {
    log(`waiting for a quiet machine: load average ${loadavg()[0]!.toFixed(2)}`);
    await sleep(15_000);
  }
}

const runStarted = now();
const waitedS = round((runStarted - started) / 1000, 1);
log(`${profile.mode} run: ${[...selected].join(", ")}${args.values["no-peers"] ? " (no peers)" : ""} → ${outDir}`);
const mariadb = await startMariaDb({ durable: true });
const results: Results = {
  meta: {
    mode: profile.mode,
    startedAt: new Date().toISOString(),
    durationS: 0,
    workloads: [...selected],
    profile,
    loadavg1AtStart: round(loadavg()[0]!, 2),
    waitedForQuietS: waitedS,
    steps,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.versions.node,
      mariadb: await mariaDbVersion(mariadb).catch(() => "MariaDB (version unknown)"),
    },
  },
  ceilings: {},
  peers: {},
  workloads: {},
};
const ctx: BenchContext = { profile, mariadb, runId, log };

try {
  // Ceilings first: every ratio of W2 and W3 needs them, and they are cheap.
  results.ceilings.noopGrpc = await attempt("ceiling: no-op gRPC", () => measureNoopGrpc({ concurrency: profile.concurrency, durationMs: profile.ceilingMs }));
  results.ceilings.mariadbCommits = await attempt("ceiling: durable MariaDB commits", async () =>
    measureMariaDbCommits(await mariadb.createDatabase(`bench_commits_${runId}`), { connections: profile.dbConnections, durationMs: profile.ceilingMs }),
  );
  // Issue 20.6 (measured only): the no-op RPC on @connectrpc/connect-node beside @grpc/grpc-js.
  results.ceilings.transport = await attempt("ceiling: transport (grpc-js vs connect-node)", () => measureTransports({ concurrency: profile.concurrency, durationMs: profile.ceilingMs }));
  // Issue 20.5 (measured only): spawn → port bound → SERVING on an empty database, beside a bare `node -e ''`.
  results.ceilings.startup = await attempt("start-up on an empty database", () => measureStartup(mariadb, `bench_startup_${runId}`, { repetitions: profile.startup.repetitions }));

  let w1Rate: number | undefined;
  if (selected.has("W1")) {
    results.workloads.W1 = await attempt("W1 small jobs (spider-storage): capacity with group commit off, then capacity and latency at ½ of it", () => runW1(ctx, { groupCommitBaseline: true }));
    if (results.workloads.W1.status === "measured") {
      w1Rate = results.workloads.W1.result.jobsPerSecond;
      log(`W1 spider-storage: capacity ${w1Rate} jobs/s; latency p50/p99 ${results.workloads.W1.result.latency.latency.p50Ms}/${results.workloads.W1.result.latency.latency.p99Ms} ms at ${results.workloads.W1.result.latency.offeredPerSecond} jobs/s`);
    }

    if (args.values["no-peers"]) {
      for (const peer of PEERS) results.peers[peer] = { status: "skipped", reason: "--no-peers" };
    } else {
      const installError = await ensurePeersInstalled(log);
      const peerOptions = (capacityOnly: boolean) => ({
        jobs: profile.w1.jobs,
        producers: profile.w1.producers,
        producerConcurrency: profile.w1.producerConcurrency,
        workers: profile.workers,
        timeLimitMs: profile.w1.timeLimitMs,
        warmup: profile.w1.warmup,
        // The latency mode offers every peer the same rate as spider-storage: half of spider-storage's capacity.
        latencyRate: results.workloads.W1?.status === "measured" ? results.workloads.W1.result.latency.offeredPerSecond : 0,
        latencySeconds: profile.w1.latencySeconds,
        maxInFlight: profile.concurrency,
        capacityOnly,
      });
      const runPeerStep = async (peer: PeerName, step: string, capacityOnly: boolean) => {
        log(`${step}: start (load average ${loadavg()[0]!.toFixed(2)})`);
        const t0 = now();
        const loadBefore = round(loadavg()[0]!, 2);
        const outcome = await runPeer(peer, peerOptions(capacityOnly), installError);
        steps.push({ step, seconds: round((now() - t0) / 1000, 1), loadavg1Before: loadBefore, loadavg1After: round(loadavg()[0]!, 2) });
        log(`${step}: ${outcome.status === "measured" ? `capacity ${outcome.result.jobsPerSecond} jobs/s` : `${outcome.status} — ${outcome.reason.slice(0, 300)}`}`);
        return outcome;
      };
      for (const peer of PEERS) results.peers[peer] = await runPeerStep(peer, `W1 small jobs (${peer})`, false);

      // Further capacity rounds, interleaved across systems — round 2 in the reverse order of round 1 —
      // so that the machine's drift during the run falls on every system alike; the goals read the means.
      if (profile.w1.capacityRounds > 1) {
        const rounds: W1Rounds = {};
        const record = (system: W1System, n: number, capacity: CapacityFigures) =>
          (rounds[system] ??= []).push({ round: n, jobsPerSecond: capacity.jobsPerSecond, cpuMsPerJob: capacity.cpuMsPerJob });
        const firstRound = results.workloads.W1?.status === "measured" ? results.workloads.W1.result.capacity : undefined;
        if (firstRound) record("spider-storage", 1, firstRound);
        for (const peer of PEERS) {
          const outcome = results.peers[peer];
          if (outcome?.status === "measured") record(peer, 1, outcome.result["capacity"] as CapacityFigures);
        }
        const order: W1System[] = ["spider-storage", ...PEERS];
        for (let n = 2; n <= profile.w1.capacityRounds; n++) {
          for (const system of n % 2 === 0 ? [...order].reverse() : order) {
            if (rounds[system] === undefined) continue; // not measured in round 1
            if (system === "spider-storage") {
              const outcome = await attempt(`W1 capacity round ${n} (spider-storage)`, () => runW1CapacityRound(ctx, n));
              if (outcome.status === "measured") {
                record(system, n, outcome.result);
                log(`W1 capacity round ${n} (spider-storage): capacity ${outcome.result.jobsPerSecond} jobs/s`);
              }
            } else {
              const outcome = await runPeerStep(system, `W1 capacity round ${n} (${system})`, true);
              if (outcome.status === "measured") record(system, n, outcome.result["capacity"] as CapacityFigures);
            }
          }
        }
        results.w1Rounds = rounds;
      }
    }
  }

  if (selected.has("W2")) results.workloads.W2 = await attempt("W2 one big job", () => runW2(ctx));

  if (selected.has("W3")) {
    results.workloads.W3 = await attempt("W3 dispatch latency", async () => {
      let rate = w1Rate;
      if (rate === undefined) {
        // W1 did not run (or crashed): calibrate its capacity with a short W1 first.
        log("W3: calibrating W1's capacity with a short W1");
        rate = (await runW1({ ...ctx, profile: { ...profile, w1: { ...profile.w1, jobs: Math.min(profile.w1.jobs, 3_000), warmup: Math.min(profile.w1.warmup, 100), latencySeconds: 1 } }, runId: `${runId}cal` })).jobsPerSecond;
      }
      return runW3(ctx, rate);
    });
  }

  if (selected.has("W5")) results.workloads.W5 = await attempt("W5 memory (same graph, then distinct graphs)", () => runW5Both(ctx));
  if (selected.has("W4")) results.workloads.W4 = await attempt("W4 recovery", () => runW4(ctx));
  if (selected.has("W6")) {
    results.workloads.W6 = await attempt("W6 high availability on Galera", async () => {
      const galera = await startGaleraCluster({ durable: true });
      try {
        return await runW6(ctx, galera);
      } finally {
        await galera.stop();
      }
    });
  }
} finally {
  await mariadb.destroy().catch((error: Error) => log(`stopping MariaDB: ${error.message}`));
}

(results.meta as { durationS: number }).durationS = round((now() - runStarted) / 1000, 1);
(results.meta as { loadavg1AtEnd: number }).loadavg1AtEnd = round(loadavg()[0]!, 2);
const { goals, files } = await writeResults(outDir, results);
log(`wrote ${files.join(", ")} in ${outDir}`);
for (const goal of goals) {
  const verdict = goal.met === true ? "met   " : goal.met === false ? "MISSED" : goal.status.toUpperCase().padEnd(6);
  log(`  ${verdict} ${goal.workload} — ${goal.metric}: ${goal.value ?? "—"} ${goal.unit} (baseline ${goal.baseline ?? "—"}, ratio ${goal.ratio ?? "—"}; goal ${goal.goal})`);
}
log(crashed ? "a workload crashed: exit 1" : "done (missed goals are data, not failures): exit 0");
process.exit(crashed ? 1 : 0);
