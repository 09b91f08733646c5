/**
 * Crash tests (issue 9; DECISIONS D2, D9): the real server as a child process
 * on a private MariaDB, driven by the simulated scheduler and execution
 * managers, SIGKILLed at seeded random moments — while serving, during
 * restart recovery itself, and in the middle of a checkpoint flush (test-only
 * hooks, src/recovery/test-hooks.ts) — and restarted on the same port each
 * time. At the end nothing is lost and nothing is done twice that must not be.
 *
 * The seed is printed; SPIDER_CRASH_SEED=<seed> replays the same plan (jobs,
 * injected failures, cancels, kill moments). Thread timing still varies.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobStateFromProto } from "../../testkit/job-state-from-proto.ts";
import { CHECKPOINT_FLUSH_DELAY_ENV, RECOVERY_PAGE_DELAY_ENV } from "../../src/recovery/test-hooks.ts";
import { startMariaDb, type PrivateMariaDb } from "../../testkit/mariadb.ts";
import { addResourceGroup, jobOutputs, oracleOutputs, registerJob, SimulatedCluster, withRetry } from "../../testkit/sim/cluster.ts";
import type { Behaviour } from "../../testkit/sim/simulated-execution-manager.ts";
import { CrashHarness, crashSeed, hashUnit, planJobs, type Life, type PlannedJob } from "./helpers/crash-harness.ts";
import { outputsFromOneRunPerTask } from "../../testkit/sim/one-run-per-task.ts";
import { waitFor } from "../../testkit/wait-for.ts";
import { seededRandom } from "../../src/core/seeded-random.ts";

const TERMINAL = new Set(["Succeeded", "Failed", "Cancelled"]);
/** SPIDER_CRASH_CHECKPOINTS=off runs the same plan without checkpoints, to compare the cost (its savings check is then skipped). */
const CHECKPOINTS_OFF = process.env["SPIDER_CRASH_CHECKPOINTS"] === "off";
const BASE_ENV: Record<string, string> = {
  // Restarts take seconds; execution managers must not be declared dead meanwhile.
  SPIDER_STORAGE_RUNTIME__TASK_INSTANCE_POOL__EXECUTION_MANAGER_STALE_CUTOFF_SEC: "300",
  ...(CHECKPOINTS_OFF ? { SPIDER_STORAGE_RUNTIME__CHECKPOINTS__ENABLED: "false" } : {}),
};
const HALF_WRITTEN = "checkpoint flush half-written (test hook)";

interface KillRecord {
  readonly life: number;
  readonly phase: "serving" | "recovery" | "mid-flush";
  /** Jobs Running in the database right after the kill. */
  readonly runningJobs: number;
  /** Their regular tasks that had succeeded: what re-running every Running job from scratch would repeat. */
  readonly succeededTasksOfRunningJobs: number;
  /** Their checkpoints in the database. */
  readonly checkpoints: number;
}

function regularTaskCount(job: PlannedJob): number {
  return job.spec.builder.build().tasks.length;
}

describe("crash tests: SIGKILL the server at random moments", () => {
  const seed = crashSeed();
  let mariadb: PrivateMariaDb | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    console.log(`crash tests: seed ${seed} (reproduce with SPIDER_CRASH_SEED=${seed})`);
    // mariadb-install-db sometimes fails here when another bootstrap runs at the same time
    // ("Could not remove temporary table '/tmp/#sql-temptable-…'"): try again.
    for (let attempt = 1; mariadb === undefined; attempt++) {
      try {
        mariadb = await startMariaDb();
      } catch (error) {
        if (attempt >= 3) throw error;
        console.warn(`startMariaDb failed (attempt ${attempt}), retrying: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  }, 180_000);
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await mariadb?.destroy();
  });

  it("loses no job, commits none twice, and re-runs far fewer tasks than restarting Running jobs from scratch", { timeout: 360_000 }, async () => {
    const random = seededRandom(seed);
    const harness = await CrashHarness.create(mariadb!, "crash_main", BASE_ENV);
    cleanups.push(() => harness.close());

    // The plan: 6 kills; one during recovery, one mid-flush, the others after a random time serving.
    const KILLS = 6;
    const recoveryKillLife = 2 + Math.floor(random() * 2);
    const flushKillLife = recoveryKillLife === 2 ? 1 + 2 * Math.floor(random() * 2) : 1 + Math.floor(random() * 2); // 1 or 3 / 1 or 2
    const plan = planJobs(seed, 14 + 10 * 5);
    const waves = [plan.slice(0, 14), ...Array.from({ length: 5 }, (_, w) => plan.slice(14 + 10 * w, 24 + 10 * w))];

    const injectedFailures = new Map<string, number>();
    /** Starts of a regular task whose success storage had already accepted: the work checkpoints exist to save. */
    let rerunsOfAcceptedSuccesses = 0;
    const behaviour: Behaviour = (context) => {
      const regular = !context.key.endsWith("/commit") && !context.key.endsWith("/cleanup");
      if (regular && (cluster?.log.successesReported.get(context.key) ?? 0) > 0) rerunsOfAcceptedSuccesses++;
      if (context.attempt === 0 && hashUnit(seed, "fail", context.key) < 0.1) {
        injectedFailures.set(context.key, (injectedFailures.get(context.key) ?? 0) + 1);
        return { kind: "fail", message: "injected failure" };
      }
      return { kind: "succeed", delayMs: 150 + Math.floor(hashUnit(seed, "delay", context.key, context.attempt) * 500) };
    };

    const ids = new Map<PlannedJob, bigint>();
    const deferred: PlannedJob[] = [];
    const cancelAnswers = new Map<bigint, string>();
    const cancels: Promise<unknown>[] = [];
    const kills: KillRecord[] = [];
    let cluster: SimulatedCluster | undefined;
    let rg = 0n;

    const start = (job: PlannedJob, jobId: bigint) => {
      if (job.cancelAfterMs === undefined) return;
      cancels.push(
        sleep(job.cancelAfterMs)
          .then(() => withRetry(() => cluster!.clients.jobs.cancelJob({ jobId }), 240_000))
          .then((response) => cancelAnswers.set(jobId, jobStateFromProto(response.state))),
      );
    };
    const submit = async (wave: readonly PlannedJob[]) => {
      // Only while serving and before the kill timer starts, so no RegisterJob answer is lost (D16: no idempotency key).
      for (const job of deferred.splice(0)) {
        await withRetry(() => cluster!.clients.jobs.startJob({ jobId: ids.get(job)! })); // a Ready job the restarted server loads from the database
        start(job, ids.get(job)!);
      }
      for (const job of wave) {
        const jobId = await registerJob(cluster!.clients, rg, job.spec);
        ids.set(job, jobId);
        if (job.deferStart) {
          deferred.push(job);
          continue;
        }
        await withRetry(() => cluster!.clients.jobs.startJob({ jobId }));
        start(job, jobId);
      }
    };
    const recordKill = async (life: Life, phase: KillRecord["phase"]) => {
      const all = [...ids.values()];
      const states = await harness.jobStates(all);
      const running = all.filter((id) => states.get(id)?.state === "Running");
      let succeeded = 0;
      for (const [job, id] of ids) {
        if (!running.includes(id)) continue;
        for (let t = 0; t < regularTaskCount(job); t++) if ((cluster!.log.successesReported.get(`${id}/${t}`) ?? 0) > 0) succeeded++;
      }
      const checkpoints = [...(await harness.checkpointCounts(running)).values()].reduce((a, b) => a + b, 0);
      kills.push({ life: life.index, phase, runningJobs: running.length, succeededTasksOfRunningJobs: succeeded, checkpoints });
    };

    let wave = 0;
    for (let lifeIndex = 0; lifeIndex <= KILLS; lifeIndex++) {
      if (lifeIndex === recoveryKillLife) {
        // Make recovery last ~6 s: 2 rows a page, a delay per page. The kill comes 150-500 ms in, and the
        // slack (it costs nothing: the life is killed) keeps it inside recovery on a loaded machine too.
        const states = await harness.jobStates([...ids.values()]);
        const live = [...states.values()].filter((s) => !TERMINAL.has(s.state)).length;
        const pages = Math.max(1, Math.ceil(live / 2) + 3);
        const life = await harness.start({ SPIDER_STORAGE_RUNTIME__RECOVERY__PAGE_SIZE: "2", [RECOVERY_PAGE_DELAY_ENV]: String(Math.max(50, Math.ceil(6_000 / pages))) });
        await life.logs.waitFor((r) => r.msg === "recovery started", 90_000);
        await sleep(150 + Math.floor(random() * 350));
        const recovering = life.logs.withMessage("recovery finished").length === 0 && life.logs.withMessage("serving").length === 0;
        await harness.kill();
        expect(recovering, `life ${lifeIndex} was to be killed during recovery (${live} live jobs)`).toBe(true);
        await recordKill(life, "recovery");
        continue;
      }
      const life = await harness.start(lifeIndex === flushKillLife ? { [CHECKPOINT_FLUSH_DELAY_ENV]: "400" } : {});
      await harness.waitServing(life);
      if (cluster === undefined) {
        cluster = await new SimulatedCluster(harness.address, { executionManagers: 4, concurrency: 3, behaviour }).start();
        cleanups.push(() => cluster!.stop());
        rg = await addResourceGroup(cluster.clients);
      }
      if (wave < waves.length) await submit(waves[wave++]!);
      if (lifeIndex === KILLS) break; // the last life runs everything to the end
      if (lifeIndex === flushKillLife) {
        // (Without checkpoints there is no flush to wait for; the plan's random draws stay the same.)
        await (CHECKPOINTS_OFF ? sleep(1_000) : life.logs.waitFor((r) => r.msg === HALF_WRITTEN, 60_000));
        await harness.kill();
        await recordKill(life, CHECKPOINTS_OFF ? "serving" : "mid-flush");
      } else {
        // Some accepted successes in this life first (a positive event: a loaded machine gets work done in each
        // life too, which the cost check below relies on), unless every job is already terminal; then a random moment.
        const accepted = () => [...cluster!.log.successesReported.values()].reduce((a, b) => a + b, 0);
        const acceptedBefore = accepted();
        await waitFor(
          `8 more accepted successes in life ${lifeIndex} (or every job terminal)`,
          async () => accepted() >= acceptedBefore + 8 || [...(await harness.jobStates([...ids.values()])).values()].every((s) => TERMINAL.has(s.state)),
          { timeoutMs: 120_000, intervalMs: 50 },
        );
        await sleep(700 + Math.floor(random() * 1_500));
        await harness.kill();
        await recordKill(life, "serving");
      }
    }
    for (const job of deferred.splice(0)) {
      await withRetry(() => cluster!.clients.jobs.startJob({ jobId: ids.get(job)! }));
      start(job, ids.get(job)!);
    }

    // ---- everything finishes ----
    await Promise.all(cancels);
    const all = [...ids.values()];
    let pending: bigint[] = [];
    await waitFor(
      () => `every job to be terminal (not yet: ${pending.slice(0, 10).join(", ")})`,
      async () => {
        const states = await harness.jobStates(all);
        pending = all.filter((id) => !TERMINAL.has(states.get(id)?.state ?? "Ready"));
        return pending.length === 0;
      },
      { timeoutMs: 150_000, intervalMs: 200 },
    );

    // ---- verification ----
    const states = await harness.jobStates(all);
    expect(states.size, "no job lost").toBe(all.length);
    const totalRows = await harness.db.selectFrom("jobs").select((eb) => eb.fn.countAll<bigint>().as("n")).executeTakeFirstOrThrow();
    expect(Number(totalRows.n), "no stray job rows").toBe(all.length);
    const log = cluster!.log;
    let commitsRun = 0;
    let commitsRepeated = 0;
    for (const [job, id] of ids) {
      const { state, error } = states.get(id)!;
      const where = `job ${id} (${job.shape}${job.commit ? ", commit" : ""}${job.cleanup ? ", cleanup" : ""}${job.cancelAfterMs !== undefined ? ", cancelled" : ""})`;
      expect(state, `${where}: ${error ?? ""}`).not.toBe("Failed");
      const answer = cancelAnswers.get(id);
      if (job.cancelAfterMs === undefined || answer === "Succeeded") expect(state, where).toBe("Succeeded");
      if (answer !== undefined && answer !== "Succeeded") expect(state, where).toBe("Cancelled");
      if (state === "Succeeded") expect(await jobOutputs(cluster!.clients, id), where).toEqual(oracleOutputs(job.spec));
      // Committed once: storage accepted at most one commit (and one cleanup) success, and only for jobs that have one.
      const commitStarts = log.starts.get(`${id}/commit`) ?? 0;
      expect(log.successesReported.get(`${id}/commit`) ?? 0, where).toBeLessThanOrEqual(1);
      expect(log.successesReported.get(`${id}/cleanup`) ?? 0, where).toBeLessThanOrEqual(1);
      if (!job.commit) expect(commitStarts, where).toBe(0);
      if (job.commit && state === "Succeeded") expect(commitStarts, where).toBeGreaterThanOrEqual(1);
      if (!job.cleanup) expect(log.starts.get(`${id}/cleanup`) ?? 0, where).toBe(0);
      if (answer === "CleanupReady") expect(log.starts.get(`${id}/cleanup`) ?? 0, where).toBeGreaterThanOrEqual(1);
      commitsRun += commitStarts;
      commitsRepeated += Math.max(0, commitStarts - 1 - (injectedFailures.get(`${id}/commit`) ?? 0));
    }
    expect(harness.sessionsIncrease(), `sessions ${harness.lives.map((l) => l.session).join(" < ")}`).toBe(true);
    expect(kills.length).toBeGreaterThanOrEqual(5);
    expect(kills.filter((k) => k.phase === "recovery")).toHaveLength(1);
    expect(kills.filter((k) => k.phase === "mid-flush")).toHaveLength(CHECKPOINTS_OFF ? 0 : 1);

    // ---- the cost of the crashes ----
    let repeatedRegular = 0;
    let injectedRegular = 0;
    for (const [key, starts] of log.starts) {
      if (key.endsWith("/commit") || key.endsWith("/cleanup")) continue;
      const injected = injectedFailures.get(key) ?? 0;
      injectedRegular += injected;
      repeatedRegular += Math.max(0, starts - 1 - injected);
    }
    const fromScratch = kills.reduce((sum, k) => sum + k.succeededTasksOfRunningJobs, 0);
    const summary = {
      seed,
      jobs: all.length,
      byState: Object.fromEntries(["Succeeded", "Cancelled", "Failed"].map((s) => [s, [...states.values()].filter((x) => x.state === s).length])),
      lives: harness.lives.length,
      sessions: harness.lives.map((l) => String(l.session)).join(" < "),
      taskStarts: [...log.starts.values()].reduce((a, b) => a + b, 0),
      injectedFailures: [...injectedFailures.values()].reduce((a, b) => a + b, 0),
      commitsRun,
      commitsRepeatedAcrossRestarts: commitsRepeated,
    };
    console.log(
      [
        `crash test summary: ${JSON.stringify(summary)}`,
        ...kills.map(
          (k) =>
            `  kill in life ${k.life} (${k.phase}): ${k.runningJobs} Running job(s) holding ${k.succeededTasksOfRunningJobs} succeeded task(s), ${k.checkpoints} checkpointed`,
        ),
        `  regular task executions repeated across restarts (injected failures excluded): ${repeatedRegular} (injected failures: ${injectedRegular})`,
        `    of which in flight at a kill (unavoidable): ${repeatedRegular - rerunsOfAcceptedSuccesses}; re-runs of tasks whose success storage had accepted (checkpoint not yet durable): ${rerunsOfAcceptedSuccesses}`,
        `  re-running every Running job from scratch at each kill would have repeated ${fromScratch} accepted successes, ${repeatedRegular - rerunsOfAcceptedSuccesses + fromScratch} executions in all`,
      ].join("\n"),
    );
    // In-flight instances are lost either way; what checkpoints save is the accepted successes.
    expect(fromScratch).toBeGreaterThan(20);
    if (!CHECKPOINTS_OFF) expect(rerunsOfAcceptedSuccesses).toBeLessThan(fromScratch / 4);
    // Registrations that gave up while the server was down are expected; anything else is a protocol error.
    expect(log.protocolErrors.filter((e) => !/UNAVAILABLE|DEADLINE_EXCEEDED|CANCELLED/.test(e))).toEqual([]);
  });

  it("never mixes two runs of a task in a job's outputs (non-deterministic tasks, kills mid-flush)", { timeout: 240_000 }, async () => {
    const salted = seed ^ 0x5a17;
    const random = seededRandom(salted);
    // Every flush is half-written then paused: each kill lands mid-flush.
    const harness = await CrashHarness.create(mariadb!, "crash_salted", { ...BASE_ENV, [CHECKPOINT_FLUSH_DELAY_ENV]: "150" });
    cleanups.push(() => harness.close());
    const plan = planJobs(salted, 60, { cancelShare: 0, deferShare: 0 })
      .filter((j) => !j.shape.startsWith("single") && !j.shape.startsWith("flat"))
      .slice(0, 20);
    const salts = new Map<string, string[]>();
    let runs = 0;
    const behaviour: Behaviour = (context) => {
      const salt = `${context.key}#${context.attempt}#${runs++}`;
      const list = salts.get(context.key) ?? [];
      list.push(salt);
      salts.set(context.key, list);
      return { kind: "succeed", salt, delayMs: 30 + Math.floor(hashUnit(salted, "delay", context.key, context.attempt) * 150) };
    };

    let cluster: SimulatedCluster | undefined;
    const ids = new Map<PlannedJob, bigint>();
    const KILLS = 4;
    let kills = 0;
    for (let lifeIndex = 0; lifeIndex <= KILLS; lifeIndex++) {
      const life = await harness.start();
      await harness.waitServing(life);
      if (cluster === undefined) {
        cluster = await new SimulatedCluster(harness.address, { executionManagers: 3, concurrency: 4, behaviour }).start();
        cleanups.push(() => cluster!.stop());
        const rg = await addResourceGroup(cluster.clients);
        for (const job of plan) {
          const jobId = await registerJob(cluster.clients, rg, job.spec);
          await withRetry(() => cluster!.clients.jobs.startJob({ jobId }));
          ids.set(job, jobId);
        }
      }
      if (lifeIndex === KILLS) break;
      // A split flush to kill in — unless the work ran out first (every job terminal), when the
      // remaining lives have nothing left to interrupt.
      const allTerminal = async () => {
        const states = await harness.jobStates([...ids.values()]);
        return [...states.values()].every((s) => TERMINAL.has(s.state));
      };
      const split = life.logs.waitFor((r) => r.msg === HALF_WRITTEN && (r["of"] as number) >= 2, 60_000).then(() => "split" as const);
      let watching = true;
      const finished = (async () => {
        while (watching && !(await allTerminal())) await sleep(500);
        return "finished" as const;
      })();
      const first = await Promise.race([split, finished]).catch(async (error: unknown) => {
        const states = await harness.jobStates([...ids.values()]);
        const byState = [...states.values()].reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.state]: (acc[s.state] ?? 0) + 1 }), {});
        throw new Error(`life ${lifeIndex}: ${(error as Error).message}; jobs ${JSON.stringify(byState)}; last log: ${life.logs.records.slice(-8).map((r) => r.msg).join(" | ")}`);
      });
      watching = false;
      split.catch(() => undefined);
      finished.catch(() => undefined);
      if (first === "finished") {
        kills = lifeIndex;
        break;
      }
      await sleep(Math.floor(random() * 100)); // still inside the 150 ms pause
      await harness.kill();
      kills = lifeIndex + 1;
    }
    expect(kills, "at least one kill landed mid-flush").toBeGreaterThanOrEqual(1);
    const all = [...ids.values()];
    await waitFor(
      "every job to be terminal",
      async () => {
        const states = await harness.jobStates(all);
        return all.every((id) => TERMINAL.has(states.get(id)!.state));
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    const states = await harness.jobStates(all);
    let rerunTasks = 0;
    let jobsWithReruns = 0;
    for (const [job, id] of ids) {
      expect(states.get(id)!.state, `job ${id}`).toBe("Succeeded");
      const graph = job.spec.builder.build();
      const perTask = graph.tasks.map((_, t) => salts.get(`${id}/${t}`) ?? []);
      const reruns = perTask.filter((s) => s.length > 1).length;
      rerunTasks += reruns;
      if (reruns > 0) jobsWithReruns++;
      const actual = await jobOutputs(cluster!.clients, id);
      expect(outputsFromOneRunPerTask(graph, job.spec.inputs, perTask, actual), `job ${id} (${job.shape}) mixes runs: ${JSON.stringify(perTask)}`).toBe(true);
      expect(actual).not.toEqual(oracleOutputs(job.spec)); // the salt really changes outputs
    }
    expect(harness.sessionsIncrease()).toBe(true);
    console.log(
      `non-deterministic crash test: seed ${seed}, ${ids.size} jobs, ${kills} kills mid-flush, ${runs} task runs, ${rerunTasks} task(s) ran more than once in ${jobsWithReruns} job(s); every job's outputs come from one run per task`,
    );
    expect(rerunTasks).toBeGreaterThan(0);
  });
});
