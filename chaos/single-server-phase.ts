/**
 * Phase "one MariaDB": a durable private mariadbd, one storage server on a
 * fixed port (started again on the same port after every kill, so clients
 * reconnect), the simulated scheduler and four execution managers, and the
 * steady chaos workload, while the planned faults fire (fault-plan.ts):
 * SIGKILLs of the server while serving, at start-up, during recovery and
 * mid-checkpoint-flush; SIGKILLs of MariaDB; SIGSTOP/SIGCONT of either.
 * Then a drain and the checks (checks.ts).
 *
 * How targeted the kills are, honestly: "during recovery" and "mid-flush"
 * use the server's test hooks (src/recovery/test-hooks.ts) — recovery pages
 * of 2 jobs with a 200 ms pause after each, so the kill lands while recovery
 * runs; checkpoint batches written half, then 300 ms later the rest, so the
 * kill (sent when the log says "half-written") lands between the halves. What
 * the server was doing at each kill is read from its log and reported.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createDb, type Db } from "../src/db/connection.ts";
import { CHECKPOINT_FLUSH_DELAY_ENV, RECOVERY_PAGE_DELAY_ENV } from "../src/recovery/test-hooks.ts";
import { freePort } from "../testkit/free-port.ts";
import type { PrivateMariaDb } from "../testkit/mariadb.ts";
import { SimulatedCluster } from "../testkit/sim/cluster.ts";
import { FailoverTarget } from "../testkit/sim/failover-storage-clients.ts";
import { waitFor } from "../testkit/wait-for.ts";
import { installWriteAudit } from "../testkit/write-audit.ts";
import { ChaosWorkload } from "./chaos-workload.ts";
import { checkPhase, type PhaseChecks } from "./checks.ts";
import { singleServerPlan, type OutageKind, type PlannedFault, type PlannedLife } from "./fault-plan.ts";
import { HALF_WRITTEN, RECOVERY_STARTED, SERVING } from "./log-watch.ts";
import type { ChaosOptions } from "./options.ts";
import { freezeProcess } from "./process-signals.ts";
import { chaosServerEnv } from "./server-env.ts";
import { strictlyIncreasing, ServerSeat, type Crash, type Life } from "./server-seat.ts";
import { countBy, summarize, type Summary } from "./stats.ts";
import { UnavailabilityTracker, type Gap } from "./unavailability.ts";

export interface SingleServerResult {
  readonly durationMs: number;
  readonly plannedServerKills: number;
  readonly serverKills: number;
  readonly databaseKills: number;
  readonly pauses: number;
  /** Faults fired, by kind. */
  readonly faults: Record<string, number>;
  /** What the server was doing at each of its kills, from its log. */
  readonly killedWhile: Record<string, number>;
  /** SIGKILL of the server → the next server SERVING (ms). */
  readonly killToServingMs: Summary;
  /** The server's own recovery time (admin GetStatus), per life that served. */
  readonly serverRecoveryMs: Summary;
  /** Database back (restarted or thawed) or server thawed → SERVING again (ms). */
  readonly outageToServingMs: Summary;
  readonly longestUnavailabilityMs: number;
  readonly longestGaps: readonly Gap[];
  readonly lives: number;
  readonly sessions: readonly string[];
  readonly sessionsIncrease: boolean;
  readonly crashes: readonly Crash[];
  readonly checks: PhaseChecks;
  readonly notes: readonly string[];
}

const RECOVERY_HOOK_ENV = { SPIDER_STORAGE_RUNTIME__RECOVERY__PAGE_SIZE: "2", [RECOVERY_PAGE_DELAY_ENV]: "200" };
const FLUSH_HOOK_ENV = { [CHECKPOINT_FLUSH_DELAY_ENV]: "300" };

export async function runSingleServerPhase(options: ChaosOptions, mariadb: PrivateMariaDb, deadline: number): Promise<SingleServerResult> {
  const log = options.log;
  const started = Date.now();
  const plan = singleServerPlan(options.seed, options);
  const url = await mariadb.createDatabase(`chaos_single_${options.seed}`);
  const seat = new ServerSeat("single", await freePort(), url, chaosServerEnv("chaos-single"), options.echoServerLogs);
  const db: Db = createDb({ url, maxConnections: 2 });
  const tracker = new UnavailabilityTracker();
  const faults: Record<string, number> = {};
  const killedWhile: Record<string, number> = {};
  const killToServing: number[] = [];
  const serverRecovery: number[] = [];
  const outageToServing: number[] = [];
  const notes: string[] = [];
  let serverKills = 0;
  let databaseKills = 0;
  let pauses = 0;
  let lastKillAt: number | undefined;
  let thawAll: (() => void)[] = [];
  let sim: SimulatedCluster | undefined;
  let workload: ChaosWorkload | undefined;

  const waitServing = async (timeoutMs = 120_000): Promise<void> => {
    await waitFor(
      () => `server ${seat.name} to be SERVING:\n${seat.current?.logs.tail(30)}`,
      async () => {
        if (!seat.running) throw new Error(`server exited:\n${seat.current?.logs.tail(30)}`);
        try {
          const status = await seat.status(1_000);
          return status.phase === "serving" && status.serving;
        } catch {
          return false;
        }
      },
      { timeoutMs, intervalMs: 25 },
    );
  };
  /** After a life first serves: how long since the last kill, and its own recovery time. */
  const noteServed = async (): Promise<void> => {
    const now = Date.now();
    if (lastKillAt !== undefined) killToServing.push(now - lastKillAt);
    lastKillAt = undefined;
    const status = await seat.status().catch(() => undefined);
    if (status?.recovery?.known && status.recovery.done) serverRecovery.push(Number(status.recovery.elapsedMs));
  };
  const kill = async (kind: string, life: Life): Promise<void> => {
    countBy(killedWhile, doing(life, kind));
    countBy(faults, kind);
    tracker.label(kind);
    await seat.kill();
    serverKills++;
    lastKillAt ??= Date.now();
  };
  const outage = async (fault: PlannedFault<OutageKind>): Promise<void> => {
    tracker.label(fault.kind);
    countBy(faults, fault.kind);
    if (fault.kind === "database-kill") {
      await mariadb.process.kill();
      databaseKills++;
      await sleep(fault.durationMs);
      await mariadb.process.start();
    } else {
      const pid = fault.kind === "server-pause" ? seat.pid : mariadb.process.pid!;
      const thaw = await freezeProcess(pid);
      thawAll.push(thaw);
      pauses++;
      await sleep(fault.durationMs);
      thaw();
      thawAll = thawAll.filter((t) => t !== thaw);
    }
    const back = Date.now();
    await waitServing();
    outageToServing.push(Date.now() - back);
  };
  const startLife = (life: PlannedLife): Promise<Life> =>
    seat.start(life.end === "kill-recovery" ? RECOVERY_HOOK_ENV : life.end === "kill-mid-flush" ? FLUSH_HOOK_ENV : {});

  try {
    log(`phase one MariaDB: ${plan.length - 1} server kills planned, ${plan.reduce((n, l) => n + l.outages.length, 0)} outages; database ${url}`);
    await startLife(plan[0]!);
    await waitServing();
    await noteServed();
    await installWriteAudit(db);
    const target = new FailoverTarget([seat.address], { onAttempt: tracker.record, retryForMs: 300_000 });
    sim = new SimulatedCluster(target, { executionManagers: 4, concurrency: 4, heartbeatMs: 200, behaviour: (context) => workload!.behaviour(context) });
    workload = new ChaosWorkload(sim.clients, sim.log, { seed: options.seed, phase: 1, maxInFlight: 40, submitIntervalMs: 60, callBudgetMs: 300_000 });
    await sim.start();
    await workload.start();

    let stoppedEarly = false;
    for (const planned of plan) {
      if (Date.now() > deadline) {
        stoppedEarly = true;
        break;
      }
      try {
        const life = planned.index === 0 ? seat.current! : await startLife(planned);
        switch (planned.end) {
          case "kill-startup":
            await sleep(planned.delayMs);
            await kill(planned.end, life);
            break;
          case "kill-recovery":
            await life.logs.waitFor((r) => r.msg === RECOVERY_STARTED, 60_000);
            await sleep(planned.delayMs);
            await kill(planned.end, life);
            break;
          case "kill-mid-flush":
            await waitServing();
            await noteServed();
            await life.logs.waitFor((r) => r.msg === HALF_WRITTEN, 60_000).catch(() => notes.push(`life ${life.index}: no split checkpoint flush within 60 s; killed while serving`));
            await kill(planned.end, life);
            break;
          default: {
            if (planned.index > 0) {
              await waitServing();
              await noteServed();
            }
            for (const fault of planned.outages) {
              if (Date.now() > deadline) break;
              await sleep(fault.gapMs);
              await outage(fault);
            }
            if (planned.end === "kill-serving") {
              await sleep(planned.gapMs);
              await kill(planned.end, life);
            }
          }
        }
      } catch (error) {
        for (const thaw of thawAll.splice(0)) thaw();
        if (!mariadb.process.running) await mariadb.process.start();
        notes.push(`life ${planned.index} (${planned.end}): ${(error as Error).message.split("\n")[0]}`);
        log(`phase one MariaDB: life ${planned.index} (${planned.end}): ${(error as Error).message.split("\n")[0]}`);
        if (seat.running && planned.end !== "none") await kill(`${planned.end} (after an error)`, seat.current!);
      }
      if (planned.index % 10 === 0) log(`phase one MariaDB: life ${planned.index}/${plan.length - 1}, ${serverKills} server kills, ${databaseKills} database kills, ${pauses} pauses, ${workload.jobs.length} jobs, ${Math.round((Date.now() - started) / 1000)} s`);
    }
    if (stoppedEarly) notes.push(`time budget spent: stopped after ${serverKills} of ${plan.length - 1} planned server kills`);
    tracker.label("drain");
    if (!seat.running) {
      await seat.start();
      await waitServing();
      await noteServed();
    }

    log(`phase one MariaDB: faults done (${serverKills} server kills, ${databaseKills} database kills, ${pauses} pauses); draining ${workload.jobs.length} jobs`);
    const unfinished = await workload.drain(options.drainSeconds * 1_000);
    if (unfinished.length > 0) notes.push(`${unfinished.length} jobs unfinished after the ${options.drainSeconds} s drain`);
    const checks = await checkPhase({
      workload,
      clients: sim.clients,
      db,
      galera: false,
      simDeadExecutionManagers: sim.executionManagers.filter((em) => em.dead).length,
    });
    const sessions = seat.sessions();
    return {
      durationMs: Date.now() - started,
      plannedServerKills: plan.length - 1,
      serverKills,
      databaseKills,
      pauses,
      faults,
      killedWhile,
      killToServingMs: summarize(killToServing),
      serverRecoveryMs: summarize(serverRecovery),
      outageToServingMs: summarize(outageToServing),
      longestUnavailabilityMs: tracker.longestMs,
      longestGaps: tracker.longest(),
      lives: seat.lives.length,
      sessions: sessions.map(String),
      sessionsIncrease: strictlyIncreasing(sessions),
      crashes: seat.crashes,
      checks,
      notes,
    };
  } finally {
    for (const thaw of thawAll) thaw();
    await workload?.abort();
    await sim?.stop().catch(() => undefined);
    await seat.stop().catch(() => undefined);
    await db.destroy().catch(() => undefined);
  }
}

/** What the server was doing when it was killed, from its log. */
function doing(life: Life, kind: string): string {
  const logs = life.logs;
  if (kind === "kill-mid-flush" && logs.count(HALF_WRITTEN) > 0) return "mid-checkpoint-flush";
  if (logs.count(SERVING) > 0) return "serving";
  if (logs.count("recovery finished") > 0) return "refilling after recovery";
  if (logs.count(RECOVERY_STARTED) > 0) return "recovering";
  return "starting (connecting, waiting out the lease, migrating)";
}
