/**
 * The task-instance pool (spec §7.9, §4.5, §4.9 with DECISIONS D6): soft
 * timeouts, dead execution managers, the up-front execution-manager check and
 * its cache, prompt removal of instances of finished tasks — on both stores.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { isStorageError, unavailable } from "../../src/core/errors.ts";
import { taskIndex } from "../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { DeadlineHeap } from "../../src/instances/deadline-heap.ts";
import { InstanceRecord, type InstanceHost } from "../../src/instances/instance-record.ts";
import { FaultyStore } from "./helpers/faulty-store.ts";
import { Harness } from "./helpers/harness.ts";
import { seededRandom, testSeed } from "./helpers/seeded-random.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { cancelJob } from "../../src/service/cancel-job.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { heartbeatExecutionManager } from "../../src/service/heartbeat-execution-manager.ts";
import { jobTasks, liveInstances, queueStats } from "../../src/service/inspect-engine.ts";
import { pollReadyTasks } from "../../src/service/poll-ready-tasks.ts";
import { registerExecutionManager } from "../../src/service/register-execution-manager.ts";

const out = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("DeadlineHeap", () => {
  it("pops records in deadline order", () => {
    const random = seededRandom(testSeed("deadline heap"));
    const host = {} as InstanceHost;
    const heap = new DeadlineHeap();
    const deadlines = Array.from({ length: 500 }, () => Math.floor(random() * 10_000));
    deadlines.forEach((d, i) => heap.push(new InstanceRecord(BigInt(i), host, 0, 1n, 0, d)));
    const popped: number[] = [];
    for (let r = heap.pop(); r !== undefined; r = heap.pop()) popped.push(r.softDeadline);
    expect(popped).toEqual([...deadlines].sort((a, b) => a - b));
  });
});

for (const storeKind of STORE_KINDS) {
  describe(`task-instance pool (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("refuses a dead execution manager at registration, and an unknown one", async () => {
      const faulty = new FaultyStore(fixture.store);
      const h = await Harness.create(faulty.store, { config: { instances: { deadExecutionManagerCutoffMs: 200 } } });
      const { jobId } = await h.submitAndStart(TaskGraphBuilder.independent(1, BYTES));
      const em = (await registerExecutionManager(h.service.engine, "10.2.0.1")).executionManagerId;
      await sleep(250);
      // Keep the harness's own manager alive; reap the silent one.
      await heartbeatExecutionManager(h.service.engine, h.executionManagerId);
      expect(await h.service.pool.reapDeadExecutionManagers()).toContain(em);
      const error = await h.register(jobId, 0, em).catch((e: unknown) => e);
      expect(isStorageError(error, "failed_precondition")).toBe(true);
      expect((error as Error).message).toContain("dead");
      expect(await heartbeatExecutionManager(h.service.engine, em).catch((e: unknown) => (e as { kind: string }).kind)).toBe(
        "failed_precondition",
      );
      // A brand-new service (restart) learns deadness from the store.
      const fresh = await Harness.create(faulty.store);
      const restarted = await fresh.submitAndStart(TaskGraphBuilder.independent(1, BYTES));
      expect(await fresh.register(restarted.jobId, 0, em).catch((e: unknown) => (e as Error).message)).toContain("dead");
      expect(await fresh.register(restarted.jobId, 0, 55_555_555n).catch((e: unknown) => (e as Error).message)).toContain(
        "unknown execution manager",
      );
      await fresh.close();
      await h.close();
    });

    it("checks an execution manager against the store once, then from its cache", async () => {
      const faulty = new FaultyStore(fixture.store);
      const first = await Harness.create(faulty.store);
      const em = first.executionManagerId;
      await first.close();
      const h = await Harness.create(faulty.store); // a new process: em is not known alive yet
      const { jobId } = await h.submitAndStart(TaskGraphBuilder.independent(3, BYTES));
      const before = faulty.callsOf("executionManagerLiveness");
      await h.register(jobId, 0, em);
      await h.register(jobId, 1, em);
      await h.register(jobId, 2, em);
      expect(faulty.callsOf("executionManagerLiveness") - before).toBe(1);
      await h.close();
    });

    it("re-enqueues each soft-timed-out instance's task once, keeps the instance, and lets a second one run", async () => {
      // Soft timeouts are checked by hand on the service's clock (no timer).
      let clock = 0;
      const h = await Harness.create(fixture.store, { config: { instances: { softTimeoutCheckIntervalMs: 1_000_000 } }, now: () => clock });
      const policy = { maxNumInstances: 2, softTimeoutMs: 100, hardTimeoutMs: 5_000 };
      const builder = new TaskGraphBuilder().tasksFrom(10, () => ({ inputs: [BYTES], outputs: [BYTES], policy }));
      const { jobId } = await h.submitAndStart(builder);
      expect(await h.drain()).toHaveLength(10);
      const first = await Promise.all(Array.from({ length: 10 }, (_, i) => h.register(jobId, i)));
      clock = 100;
      expect(h.service.pool.checkSoftTimeouts()).toBe(10);
      clock = 350;
      expect(h.service.pool.checkSoftTimeouts()).toBe(0);
      const requeued = await h.drain();
      expect(requeued.length).toBe(10); // once per instance, although several checks ran
      const tasks = liveInstances(h.service.engine).filter((i) => i.jobId === jobId);
      expect(tasks).toHaveLength(10);
      expect(tasks.every((i) => i.softTimeoutHandled)).toBe(true);
      // Speculative second instances; the first to succeed wins, the other is stale.
      const second = await Promise.all(Array.from({ length: 10 }, (_, i) => h.register(jobId, i)));
      for (let i = 0; i < 10; i++) {
        const [winner, loser] = i % 2 === 0 ? [first[i]!, second[i]!] : [second[i]!, first[i]!];
        await h.succeed(jobId, i, winner.taskInstanceId, [out(`r${i}`)]);
        expect(await h.succeed(jobId, i, loser.taskInstanceId, [out("late")]).catch((e: unknown) => (e as { kind: string }).kind)).toBe(
          "failed_precondition",
        );
      }
      expect(await getJobState(h.service.engine, jobId)).toBe("Succeeded");
      expect(liveInstances(h.service.engine).filter((i) => i.jobId === jobId)).toEqual([]);
      await h.close();
    });

    it("does not re-enqueue a soft-timed-out task that cannot take another instance", async () => {
      let clock = 0;
      const h = await Harness.create(fixture.store, { config: { instances: { softTimeoutCheckIntervalMs: 1_000_000 } }, now: () => clock });
      const policy = { maxNumInstances: 1, softTimeoutMs: 100, hardTimeoutMs: 5_000 };
      const { jobId } = await h.submitAndStart(new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy }));
      await h.drain();
      await h.register(jobId, 0);
      clock = 100;
      expect(h.service.pool.checkSoftTimeouts()).toBe(1); // the soft timeout was handled…
      expect(await h.drain()).toEqual([]); // …and queued nothing
      await h.close();
    });

    it("evicts a dead execution manager's instances and re-enqueues their tasks without consuming retries", async () => {
      // Reaped by hand (no timer) on the pool's own clock; only the store's staleness is wall-clock time.
      const cutoff = 1_000;
      let clock = 0;
      const h = await Harness.create(fixture.store, {
        config: { instances: { deadExecutionManagerCutoffMs: cutoff, reapIntervalMs: 1_000_000 } },
        now: () => clock,
      });
      const { jobId } = await h.submitAndStart(TaskGraphBuilder.independent(10, BYTES));
      await h.drain();
      const doomed = (await registerExecutionManager(h.service.engine, "10.3.0.1")).executionManagerId;
      try {
        const doomedInstances = await Promise.all(Array.from({ length: 5 }, (_, i) => h.register(jobId, i, doomed)));
        const healthy = await Promise.all(Array.from({ length: 5 }, (_, i) => h.register(jobId, i + 5)));
        await sleep(cutoff + 100); // a lower bound: the doomed manager is now silent for longer than the cutoff
        await heartbeatExecutionManager(h.service.engine, h.executionManagerId);
        clock = cutoff; // past the start-up grace
        const reaped = await h.service.pool.reapDeadExecutionManagers();
        expect(reaped).toContain(doomed);
        expect(reaped).not.toContain(h.executionManagerId);
        expect(queueStats(h.service.engine).task.depth).toBe(5);
        expect((await h.drain()).map((t) => (t.kind === "index" ? t.index : -1)).sort()).toEqual([0, 1, 2, 3, 4]);
        expect(jobTasks(h.service.engine, jobId).slice(0, 5).every((t) => t.state === "Ready" && t.retriesLeft === 0)).toBe(true);
        // The dead manager's late report is stale; healthy instances are untouched.
        const late = await h.succeed(jobId, 0, doomedInstances[0]!.taskInstanceId, [out("late")]).catch((e: unknown) => e);
        expect(isStorageError(late, "failed_precondition")).toBe(true);
        for (let i = 0; i < 5; i++) await h.succeed(jobId, i + 5, healthy[i]!.taskInstanceId, [out("ok")]);
        for (let i = 0; i < 5; i++) {
          const again = await h.register(jobId, i);
          await h.succeed(jobId, i, again.taskInstanceId, [out("ok")]);
        }
        expect(await getJobState(h.service.engine, jobId)).toBe("Succeeded");
      } finally {
        await h.close();
      }
    });

    it("drops instances of finished tasks and jobs at once: nothing is re-enqueued later", async () => {
      let clock = 0;
      const h = await Harness.create(fixture.store, { config: { instances: { softTimeoutCheckIntervalMs: 1_000_000 } }, now: () => clock });
      const policy = { maxNumInstances: 2, softTimeoutMs: 100, hardTimeoutMs: 5_000 };
      const builder = new TaskGraphBuilder().tasksFrom(10, () => ({ inputs: [BYTES], outputs: [BYTES], policy }));
      const { jobId } = await h.submitAndStart(builder);
      // A control job on the same manager, left running: it shows each step below does re-enqueue a live instance's task.
      const control = await h.submitAndStart(new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy }));
      await h.drain();
      const em = (await registerExecutionManager(h.service.engine, "10.4.0.1")).executionManagerId;
      await Promise.all(Array.from({ length: 10 }, (_, i) => h.register(jobId, i, em)));
      await h.register(control.jobId, 0, em);
      expect(liveInstances(h.service.engine)).toHaveLength(11);
      expect(await cancelJob(h.service.engine, jobId)).toBe("Cancelled");
      expect(liveInstances(h.service.engine).map((i) => i.jobId)).toEqual([control.jobId]);
      const queuedJobs = async () => (await pollReadyTasks(h.service.engine, "task", { maxItems: 100, waitMs: 0 })).tasks.map((t) => t.jobId);
      clock = 100; // past every soft deadline
      expect(h.service.pool.checkSoftTimeouts()).toBe(1);
      expect(await queuedJobs()).toEqual([control.jobId]);
      expect(h.service.pool.evictExecutionManagers([em])).toBe(1);
      expect(await queuedJobs()).toEqual([control.jobId]);
      await h.close();
    });

    it("does not reap anybody while the database was unreachable within the cutoff (D6)", async () => {
      // The grace runs on the pool's clock; only the store's staleness is wall-clock time.
      const cutoff = 200;
      let clock = 0;
      const faulty = new FaultyStore(fixture.store);
      const h = await Harness.create(faulty.store, {
        config: { instances: { deadExecutionManagerCutoffMs: cutoff, reapIntervalMs: 1_000_000 } },
        now: () => clock,
      });
      const em = (await registerExecutionManager(h.service.engine, "10.5.0.1")).executionManagerId;
      await sleep(cutoff + 100); // a lower bound: em is stale by the store's clock from here on
      clock = 10 * cutoff; // long past the start-up grace
      faulty.failNext("heartbeatExecutionManager", () => unavailable("database down (injected)"));
      expect(await heartbeatExecutionManager(h.service.engine, em).catch((e: unknown) => (e as { kind: string }).kind)).toBe("unavailable");
      clock += cutoff - 1;
      expect(await h.service.pool.reapDeadExecutionManagers()).toEqual([]);
      expect(faulty.callsOf("reapDeadExecutionManagers")).toBe(0);
      clock += 1;
      expect(await h.service.pool.reapDeadExecutionManagers()).toContain(em);
      await h.close();
    });

    it("gives execution managers a full cutoff after the pool starts before reaping anyone (a restart longer than the cutoff)", async () => {
      const cutoff = 200;
      const config = { instances: { deadExecutionManagerCutoffMs: cutoff, reapIntervalMs: 1_000_000 } };
      // The server that registered the manager goes away; the manager keeps trying to heartbeat, refused meanwhile.
      const before = await Harness.create(fixture.store, { config });
      const em = (await registerExecutionManager(before.service.engine, "10.5.0.2")).executionManagerId;
      await before.close();
      await sleep(cutoff + 100); // its last recorded heartbeat is now older than the cutoff
      let clock = 0;
      const faulty = new FaultyStore(fixture.store);
      const h = await Harness.create(faulty.store, { config, now: () => clock });
      expect(await h.service.pool.reapDeadExecutionManagers()).toEqual([]);
      clock = cutoff - 1;
      expect(await h.service.pool.reapDeadExecutionManagers()).toEqual([]);
      expect(faulty.callsOf("reapDeadExecutionManagers")).toBe(0);
      // Once a full cutoff has passed since start, a manager that never heartbeat again is dead.
      clock = cutoff;
      expect(await h.service.pool.reapDeadExecutionManagers()).toContain(em);
      await h.close();
    });

    it("forgets alive managers not heard of for a cutoff and dead ones after the retention, asking the store again", async () => {
      const cutoff = 200;
      const retention = 10 * cutoff; // the default: ten cutoffs
      let clock = 0;
      const faulty = new FaultyStore(fixture.store);
      const h = await Harness.create(faulty.store, {
        config: { instances: { deadExecutionManagerCutoffMs: cutoff, reapIntervalMs: 1_000_000 } },
        now: () => clock,
      });
      const pool = h.service.pool;
      const { jobId } = await h.submitAndStart(TaskGraphBuilder.independent(4, BYTES));
      const doomed = (await registerExecutionManager(h.service.engine, "10.7.0.1")).executionManagerId;
      const known = pool.knownExecutionManagers.alive;
      expect(known).toBeGreaterThanOrEqual(2);

      // Alive: cached for a cutoff, then asked again.
      const calls = () => faulty.callsOf("executionManagerLiveness");
      const before = calls();
      await h.register(jobId, 0);
      expect(calls()).toBe(before);
      clock = cutoff;
      pool.forgetStaleExecutionManagers();
      expect(pool.knownExecutionManagers.alive).toBe(0);
      await h.register(jobId, 1);
      expect(calls()).toBe(before + 1);
      expect(pool.knownExecutionManagers.alive).toBe(1);

      // Dead: remembered for the retention, then learnt again from the store.
      await sleep(cutoff + 100); // the doomed manager's heartbeat is stale by the store's clock
      await heartbeatExecutionManager(h.service.engine, h.executionManagerId);
      clock = 2 * cutoff; // past the start-up grace
      expect(await pool.reapDeadExecutionManagers()).toContain(doomed);
      expect(pool.knownExecutionManagers.dead).toBeGreaterThanOrEqual(1);
      const beforeDead = calls();
      expect(await h.register(jobId, 2, doomed).catch((e: unknown) => (e as Error).message)).toContain("dead");
      expect(calls()).toBe(beforeDead);
      clock = 2 * cutoff + retention;
      pool.forgetStaleExecutionManagers();
      expect(pool.knownExecutionManagers.dead).toBe(0);
      expect(await h.register(jobId, 2, doomed).catch((e: unknown) => (e as Error).message)).toContain("dead");
      expect(calls()).toBe(beforeDead + 1);
      expect(pool.knownExecutionManagers.dead).toBe(1);
      await h.close();
    });

    it("lists live instances for inspection", async () => {
      const h = await Harness.create(fixture.store);
      const { jobId } = await h.submitAndStart(TaskGraphBuilder.independent(2, BYTES));
      const a = await h.register(jobId, 1);
      expect(liveInstances(h.service.engine)).toEqual([
        expect.objectContaining({ taskInstanceId: a.taskInstanceId, jobId, taskId: taskIndex(1), executionManagerId: h.executionManagerId }),
      ]);
      await h.close();
    });
  });
}
