/**
 * Phase "Galera": a private 3-node Galera cluster, two storage servers with
 * multi-host URLs (A lists node 1 first, B node 2; each its own MariaDB user,
 * so the write audit says who wrote what), failover clients that know both,
 * the chaos workload, and the planned faults: SIGKILL of the leader (the
 * standby takes over; the killed one is restarted as the standby) and
 * SIGKILL of the Galera node the leader's connections use (restarted and
 * waited Synced). Both servers' health is sampled every 50 ms throughout:
 * never two SERVING. Then a drain and the checks (checks.ts), plus the
 * audit's takeovers: epochs increase and no write lands outside its
 * writer's term.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createDb, type Db } from "../src/db/connection.ts";
import { STANDBY_MESSAGE } from "../src/db/lease.ts";
import { migrateToLatest } from "../src/db/migrate.ts";
import { freePort } from "../testkit/free-port.ts";
import { startGaleraCluster, type GaleraCluster } from "../testkit/galera.ts";
import { ServingSampler } from "../testkit/serving-sampler.ts";
import { SimulatedCluster } from "../testkit/sim/cluster.ts";
import { FailoverTarget } from "../testkit/sim/failover-storage-clients.ts";
import { mostUsedPeerPort } from "../testkit/tcp-peers.ts";
import { waitFor } from "../testkit/wait-for.ts";
import { createServerUser, installWriteAudit, readAudit, takeovers, writesOutsideTerm } from "../testkit/write-audit.ts";
import { ChaosWorkload } from "./chaos-workload.ts";
import { checkPhase, type PhaseChecks } from "./checks.ts";
import { galeraPlan } from "./fault-plan.ts";
import type { ChaosOptions } from "./options.ts";
import { chaosServerEnv } from "./server-env.ts";
import { ServerSeat, strictlyIncreasing, type Crash } from "./server-seat.ts";
import { countBy, summarize, type Summary } from "./stats.ts";
import { UnavailabilityTracker, type Gap } from "./unavailability.ts";

export interface GaleraResult {
  readonly durationMs: number;
  readonly clusterStartMs: number;
  readonly leaderFailovers: number;
  readonly galeraNodeKills: number;
  readonly faults: Record<string, number>;
  /** SIGKILL of the leader → the standby SERVING (ms). */
  readonly takeoverMs: Summary;
  /** A killed node started again → Synced (ms). */
  readonly nodeRejoinMs: Summary;
  readonly nodeKillOutcomes: readonly string[];
  readonly longestUnavailabilityMs: number;
  readonly longestGaps: readonly Gap[];
  readonly healthSamples: number;
  /** Samples in which both servers answered SERVING (must be 0). */
  readonly twoServing: number;
  /** Takeovers recorded by the database (the leader fence advanced), and whether their epochs increase. */
  readonly takeovers: number;
  readonly epochsIncrease: boolean;
  /** Committed writes of a server after another's takeover (must be 0). */
  readonly writesOutsideTerm: number;
  readonly sessionsIncrease: boolean;
  readonly crashes: readonly Crash[];
  readonly checks: PhaseChecks;
  readonly notes: readonly string[];
}

export async function runGaleraPhase(options: ChaosOptions, deadline: number): Promise<GaleraResult> {
  const log = options.log;
  const started = Date.now();
  const plan = galeraPlan(options.seed, options);
  const tracker = new UnavailabilityTracker();
  const faults: Record<string, number> = {};
  const takeoverMs: number[] = [];
  const nodeRejoinMs: number[] = [];
  const outcomes: string[] = [];
  const notes: string[] = [];
  let leaderFailovers = 0;
  let galeraNodeKills = 0;
  let cluster: GaleraCluster | undefined;
  let auditDb: Db | undefined;
  let seats: ServerSeat[] = [];
  let sampler: ServingSampler | undefined;
  let sim: SimulatedCluster | undefined;
  let workload: ChaosWorkload | undefined;

  const health = (seat: ServerSeat) => sampler!.check(seats.indexOf(seat), 500);
  const other = (seat: ServerSeat) => seats.find((s) => s !== seat)!;
  const currentLeader = (timeoutMs = 60_000): Promise<ServerSeat> =>
    waitFor(
      "exactly one server to be SERVING",
      async () => {
        const answers = await Promise.all(seats.map(health));
        const serving = seats.filter((_, i) => answers[i] === "SERVING");
        return serving.length === 1 ? serving[0] : undefined;
      },
      { timeoutMs, intervalMs: 20 },
    );
  const waitServing = (seat: ServerSeat, timeoutMs = 60_000) =>
    waitFor(() => `server ${seat.name} to be SERVING:\n${seat.current?.logs.tail(20)}`, async () => (await health(seat)) === "SERVING", { timeoutMs, intervalMs: 10 });
  const waitStandby = (seat: ServerSeat, timeoutMs = 60_000) =>
    waitFor(
      () => `server ${seat.name} to be a standby:\n${seat.current?.logs.tail(20)}`,
      async () => {
        if (!seat.running) throw new Error(`server ${seat.name} exited`);
        return (seat.current!.logs.count(STANDBY_MESSAGE) > 0 || seat.current!.logs.tail(200).includes(STANDBY_MESSAGE)) && (await health(seat)) === "NOT_SERVING";
      },
      { timeoutMs, intervalMs: 20 },
    );

  try {
    log("phase Galera: starting a 3-node cluster");
    cluster = await startGaleraCluster();
    log(`phase Galera: cluster started in ${cluster.startMs} ms; ${plan.length} faults planned`);
    await cluster.createDatabase("chaos_galera");
    const admin = createDb({ url: `${cluster.url(0)}chaos_galera`, maxConnections: 2 });
    try {
      await migrateToLatest(admin);
      await createServerUser(admin, "chaos_a");
      await createServerUser(admin, "chaos_b");
      await installWriteAudit(admin);
    } finally {
      await admin.destroy();
    }
    auditDb = createDb({ url: `${cluster.multiHostUrl}chaos_galera`, maxConnections: 2 });
    const nodes = cluster.nodes;
    const hostsFrom = (first: number) => [0, 1, 2].map((k) => `127.0.0.1:${nodes[(first + k) % 3]!.port}`).join(",");
    seats = [
      new ServerSeat("A", await freePort(), `mysql://chaos_a@${hostsFrom(0)}/chaos_galera`, chaosServerEnv("chaos-A"), options.echoServerLogs),
      new ServerSeat("B", await freePort(), `mysql://chaos_b@${hostsFrom(1)}/chaos_galera`, chaosServerEnv("chaos-B"), options.echoServerLogs),
    ];
    sampler = new ServingSampler(seats.map((s) => s.address), { intervalMs: 50, deadlineMs: 1_000 });
    await seats[0]!.start();
    await seats[0]!.current!.server.waitServing(120_000);
    await seats[1]!.start();
    await waitStandby(seats[1]!);
    sampler.start();

    const target = new FailoverTarget(seats.map((s) => s.address), { onAttempt: tracker.record, retryForMs: 300_000 });
    sim = new SimulatedCluster(target, { executionManagers: 3, concurrency: 4, heartbeatMs: 200, behaviour: (context) => workload!.behaviour(context) });
    workload = new ChaosWorkload(sim.clients, sim.log, { seed: options.seed, phase: 2, maxInFlight: 30, submitIntervalMs: 80, callBudgetMs: 300_000 });
    await sim.start();
    await workload.start();

    for (const fault of plan) {
      if (Date.now() > deadline) {
        notes.push(`time budget spent: stopped after ${leaderFailovers} leader kills and ${galeraNodeKills} node kills of ${plan.length} faults`);
        break;
      }
      await sleep(fault.gapMs);
      tracker.label(fault.kind);
      try {
        const leader = await currentLeader();
        if (fault.kind === "leader-kill") {
          const standby = other(leader);
          const killedAt = Date.now();
          await leader.kill();
          leaderFailovers++;
          countBy(faults, fault.kind);
          await waitServing(standby);
          takeoverMs.push(Date.now() - killedAt);
          await leader.start();
          await waitStandby(leader);
        } else {
          const ports = nodes.map((n) => n.port);
          const port = await waitFor(`server ${leader.name}'s connections to a Galera node`, () => mostUsedPeerPort(leader.pid, ports), { timeoutMs: 10_000 });
          const node = nodes.find((n) => n.port === port)!;
          const killedAt = Date.now();
          await node.kill("SIGKILL");
          galeraNodeKills++;
          countBy(faults, fault.kind);
          await sleep(1_000 + fault.gapMs); // the cluster runs on two nodes meanwhile, under load
          const restartAt = Date.now();
          await node.start();
          await cluster.waitSynced(3);
          nodeRejoinMs.push(Date.now() - restartAt);
          const now = await currentLeader();
          outcomes.push(`${leader.name} on ${node.name}: ${now === leader ? `${leader.name} stayed leader` : `${now.name} took over`}; node back Synced ${Date.now() - killedAt} ms after the kill`);
          if (now !== leader) await waitStandby(leader);
        }
      } catch (error) {
        notes.push(`${fault.kind} ${fault.index}: ${(error as Error).message.split("\n")[0]}`);
        log(`phase Galera: ${fault.kind} ${fault.index}: ${(error as Error).message.split("\n")[0]}`);
        for (const node of nodes) if (!node.running) await node.start().catch(() => undefined);
        for (const seat of seats) if (!seat.running) await seat.start();
      }
      log(`phase Galera: ${leaderFailovers} leader kills, ${galeraNodeKills} node kills, ${workload.jobs.length} jobs, ${Math.round((Date.now() - started) / 1000)} s`);
    }
    tracker.label("drain");

    log(`phase Galera: faults done; draining ${workload.jobs.length} jobs`);
    const unfinished = await workload.drain(options.drainSeconds * 1_000);
    if (unfinished.length > 0) notes.push(`${unfinished.length} jobs unfinished after the ${options.drainSeconds} s drain`);
    await sampler.stop();
    const checks = await checkPhase({ workload, clients: sim.clients, db: auditDb, galera: true, simDeadExecutionManagers: sim.executionManagers.filter((em) => em.dead).length });
    const audit = await readAudit(auditDb, { galera: true });
    const terms = takeovers(audit);
    const outside = writesOutsideTerm(audit);
    for (const row of outside.slice(0, 10)) notes.push(`write outside its term: ${row.kind} job ${row.jobId} by ${row.writer}`);
    const overlapping = ServingSampler.overlapping(sampler.samples);
    for (const s of overlapping.slice(0, 5)) notes.push(`two SERVING at ${new Date(s.at).toISOString()}`);
    return {
      durationMs: Date.now() - started,
      clusterStartMs: cluster.startMs,
      leaderFailovers,
      galeraNodeKills,
      faults,
      takeoverMs: summarize(takeoverMs),
      nodeRejoinMs: summarize(nodeRejoinMs),
      nodeKillOutcomes: outcomes,
      longestUnavailabilityMs: tracker.longestMs,
      longestGaps: tracker.longest(),
      healthSamples: sampler.samples.length,
      twoServing: overlapping.length,
      takeovers: terms.length,
      epochsIncrease: terms.every((t, i) => i === 0 || t.epoch! > terms[i - 1]!.epoch!),
      writesOutsideTerm: outside.length,
      sessionsIncrease: seats.every((seat) => strictlyIncreasing(seat.sessions())),
      crashes: seats.flatMap((seat) => seat.crashes),
      checks,
      notes,
    };
  } finally {
    await workload?.abort();
    await sim?.stop().catch(() => undefined);
    await sampler?.stop().catch(() => undefined);
    for (const seat of seats) await seat.stop().catch(() => undefined);
    await auditDb?.destroy().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
  }
}
