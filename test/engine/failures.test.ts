/**
 * Failure handling end to end through the service layer, on both stores:
 * retries and exhausted retries (GetJobError), dead execution managers with a
 * short cutoff, soft timeouts with max_num_instances 2, reports whose job
 * transition cannot be written (DECISIONS D6), unknown outcomes, cancel racing
 * success, and two outcomes for one task racing.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { outcomeUnknown, unavailable } from "../../src/core/errors.ts";
import { CLEANUP_TASK, COMMIT_TASK, taskIndex } from "../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import type { JobStore } from "../../src/db/job-store.ts";
import { FaultyStore } from "./helpers/faulty-store.ts";
import { Harness } from "./helpers/harness.ts";
import { jobAtFinishingReport } from "./helpers/finishing-report.ts";
import { kindOf } from "./helpers/outcomes.ts";
import { seededRandom, testSeed } from "./helpers/seeded-random.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { cancelJob } from "../../src/service/cancel-job.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { heartbeatExecutionManager } from "../../src/service/heartbeat-execution-manager.ts";
import { jobTasks, liveInstances } from "../../src/service/inspect-engine.ts";
import { registerExecutionManager } from "../../src/service/register-execution-manager.ts";
import { startJob } from "../../src/service/start-job.ts";

const out = (text: string): Uint8Array => new TextEncoder().encode(text);

const single = (policy = {}) => new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy });

for (const storeKind of STORE_KINDS) {
  describe(`failures (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("retries max_num_retry times; failure number max_num_retry + 1 fails the task and the job", async () => {
      const h = await Harness.create(fixture.store);
      const ok = await h.submitAndStart(single({ maxNumRetry: 2 }));
      for (let attempt = 0; attempt < 2; attempt++) {
        const i = await h.register(ok.jobId, 0);
        expect(await h.fail(ok.jobId, 0, i.taskInstanceId, `attempt ${attempt}`)).toBe("Running");
      }
      const last = await h.register(ok.jobId, 0);
      expect(await h.succeed(ok.jobId, 0, last.taskInstanceId, [out("done")])).toBe("Succeeded");

      const bad = await h.submitAndStart(single({ maxNumRetry: 2 }));
      for (let attempt = 0; attempt < 3; attempt++) {
        const i = await h.register(bad.jobId, 0);
        expect(await h.fail(bad.jobId, 0, i.taskInstanceId, `attempt ${attempt}`)).toBe(attempt < 2 ? "Running" : "Failed");
      }
      expect(await getJobError(h.service.engine, bad.jobId)).toBe("attempt 2");
      expect(await fixture.store.getJobError(bad.jobId)).toBe("attempt 2");
      expect(jobTasks(h.service.engine, bad.jobId)[0]!.state).toBe("Failed");
      await h.close();
    });

    it("commit and cleanup tasks have their own retries; exhausting them fails the job", async () => {
      const h = await Harness.create(fixture.store);
      const commitJob = await h.submitAndStart(single().commit({ policy: { maxNumRetry: 1 } }));
      const t = await h.register(commitJob.jobId, 0);
      await h.succeed(commitJob.jobId, 0, t.taskInstanceId, [out("v")]);
      for (let attempt = 0; attempt < 2; attempt++) {
        const c = await h.register(commitJob.jobId, COMMIT_TASK);
        await h.fail(commitJob.jobId, COMMIT_TASK, c.taskInstanceId, `commit attempt ${attempt}`);
      }
      expect(await getJobState(h.service.engine, commitJob.jobId)).toBe("Failed");
      expect(await getJobError(h.service.engine, commitJob.jobId)).toBe("commit attempt 1");
      const cleanupJob = await h.submitAndStart(single().cleanup());
      await cancelJob(h.service.engine, cleanupJob.jobId);
      const c = await h.register(cleanupJob.jobId, CLEANUP_TASK);
      expect(await h.fail(cleanupJob.jobId, CLEANUP_TASK, c.taskInstanceId, "cleanup broke")).toBe("Failed");
      expect(await fixture.store.getJobState(cleanupJob.jobId)).toBe("Failed");
      await h.close();
    });

    it("reassigns a dead execution manager's work (short cutoff) without consuming retries", async () => {
      // The test reaps by hand (no timer) on the pool's own clock; only the store's staleness is wall-clock time.
      const cutoff = 1_000;
      let clock = 0;
      const h = await Harness.create(fixture.store, {
        config: { instances: { deadExecutionManagerCutoffMs: cutoff, reapIntervalMs: 1_000_000 } },
        now: () => clock,
      });
      const builder = new TaskGraphBuilder().tasksFrom(20, () => ({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry: 0 } }));
      const { jobId } = await h.submitAndStart(builder);
      const silent = (await registerExecutionManager(h.service.engine, "10.9.0.1")).executionManagerId;
      const healthy = (await registerExecutionManager(h.service.engine, "10.9.0.2")).executionManagerId;
      // The silent manager takes half the tasks and never reports.
      const first = await h.drain();
      for (const taskId of first.slice(0, 10)) await h.register(jobId, taskId, silent);
      for (const taskId of first.slice(10)) {
        const i = await h.register(jobId, taskId, healthy);
        await h.succeed(jobId, taskId, i.taskInstanceId, [out("ok")]);
      }
      expect(await getJobState(h.service.engine, jobId)).toBe("Running");
      // Reaped once silent for longer than the cutoff (the sleep is a lower bound): its tasks come back and the healthy manager finishes them.
      await sleep(cutoff + 100);
      await heartbeatExecutionManager(h.service.engine, healthy);
      clock = cutoff; // past the start-up grace
      const reaped = await h.service.pool.reapDeadExecutionManagers();
      expect(reaped).toContain(silent);
      expect(reaped).not.toContain(healthy);
      const again = await h.drain();
      expect(again).toHaveLength(10);
      for (const taskId of again) {
        const i = await h.register(jobId, taskId, healthy);
        await h.succeed(jobId, taskId, i.taskInstanceId, [out("ok")]);
      }
      expect(await getJobState(h.service.engine, jobId)).toBe("Succeeded");
      await h.close();
    });

    it("soft timeouts with max_num_instances 2: a speculative instance overtakes a hung one, whose late report is stale", async () => {
      // Soft timeouts are checked by hand on the service's clock (no timer).
      let clock = 0;
      const h = await Harness.create(fixture.store, { config: { instances: { softTimeoutCheckIntervalMs: 1_000_000 } }, now: () => clock });
      const policy = { maxNumInstances: 2, softTimeoutMs: 150, hardTimeoutMs: 10_000 };
      const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy }).task({ outputs: [BYTES], sources: [[0, 0]], policy });
      const { jobId } = await h.submitAndStart(builder);
      expect(await h.drain()).toEqual([taskIndex(0)]);
      const hung = await h.register(jobId, 0);
      clock = 149;
      expect(h.service.pool.checkSoftTimeouts()).toBe(0);
      expect(await h.drain()).toEqual([]);
      clock = 150;
      expect(h.service.pool.checkSoftTimeouts()).toBe(1);
      expect(await h.drain()).toEqual([taskIndex(0)]);
      const speculative = await h.register(jobId, 0);
      await h.succeed(jobId, 0, speculative.taskInstanceId, [out("fast")]);
      expect(await kindOf(h.succeed(jobId, 0, hung.taskInstanceId, [out("slow")]))).toBe("failed_precondition");
      const child = await h.register(jobId, 1);
      expect(await h.succeed(jobId, 1, child.taskInstanceId, [out("end")])).toBe("Succeeded");
      await h.close();
    });

    describe("database unreachable while applying a report, kept results over their bound (D6)", () => {
      // Results with bytes to keep; write-outcomes.test.ts covers the results kept within the bound.
      const cases: { op: keyof JobStore; name: string }[] = [
        { op: "commitJobOutputs", name: "the last task's success" },
        { op: "failJob", name: "a failure that exhausts retries" },
      ];
      for (const { op, name } of cases) {
        it(`${name}: answers unavailable, re-enqueues the task, consumes no retry`, async () => {
          const faulty = new FaultyStore(fixture.store);
          const h = await Harness.create(faulty.store, { config: { limits: { maxKeptResultBytes: 0 } } });
          const { jobId, taskId, lane, before } = await jobAtFinishingReport(h, op);
          faulty.failNext(op, () => unavailable("database down (injected)"));
          const instance = await h.register(jobId, taskId);
          const report =
            op === "failJob"
              ? h.fail(jobId, taskId, instance.taskInstanceId, "final failure")
              : h.succeed(jobId, taskId, instance.taskInstanceId, [out("v")]);
          expect(await kindOf(report)).toBe("unavailable");
          expect(await getJobState(h.service.engine, jobId)).toBe(before);
          expect(await fixture.store.getJobState(jobId)).toBe(before);
          expect(await h.drain(lane)).toEqual([taskId]);
          expect(liveInstances(h.service.engine).filter((i) => i.jobId === jobId)).toEqual([]);
          // Once the database is back, a new instance's report applies (the retry budget of 0 was not touched).
          const again = await h.register(jobId, taskId);
          const after =
            op === "failJob"
              ? await h.fail(jobId, taskId, again.taskInstanceId, "final failure")
              : await h.succeed(jobId, taskId, again.taskInstanceId, [out("v")]);
          expect(after).toBe({ commitJobOutputs: "Succeeded", failJob: "Failed", succeedCommittedJob: "Succeeded", finishCleanup: "Cancelled" }[op as string]);
          expect(await fixture.store.getJobState(jobId)).toBe(after);
          await h.close();
        });
      }

      it("StartJob and CancelJob answer unavailable and change nothing", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await h.submit(single());
        faulty.failNext("startJob", () => unavailable("database down (injected)"));
        expect(await kindOf(startJob(h.service.engine, jobId))).toBe("unavailable");
        expect(await getJobState(h.service.engine, jobId)).toBe("Ready");
        expect(await h.drain()).toEqual([]);
        expect(await startJob(h.service.engine, jobId)).toBe("Running");
        faulty.failNext("cancelJob", () => unavailable("database down (injected)"));
        expect(await kindOf(cancelJob(h.service.engine, jobId))).toBe("unavailable");
        expect(await getJobState(h.service.engine, jobId)).toBe("Running");
        expect(await cancelJob(h.service.engine, jobId)).toBe("Cancelled");
        await h.close();
      });
    });

    it("an unknown outcome that did commit is recognised by reading the row back", async () => {
      const faulty = new FaultyStore(fixture.store);
      const h = await Harness.create(faulty.store);
      const { jobId } = await h.submitAndStart(single());
      const i = await h.register(jobId, 0);
      // The write happens, then the connection is "lost during COMMIT".
      await fixture.store.commitJobOutputs(jobId, new Uint8Array([0, 1, 0, 0, 0, 1, 0, 0, 0, 118]), false);
      faulty.failNext("commitJobOutputs", () => outcomeUnknown("connection lost during COMMIT; outcome unknown (injected)"));
      expect(await h.succeed(jobId, 0, i.taskInstanceId, [out("v")])).toBe("Succeeded");
      expect(await getJobState(h.service.engine, jobId)).toBe("Succeeded");
      await h.close();
    });

    it("cancel racing the last success ends consistently, in memory and in the store", async () => {
      const seed = testSeed(`cancel vs success (${storeKind})`);
      const random = seededRandom(seed);
      const seen = new Set<string>();
      const h = await Harness.create(fixture.store);
      for (let round = 0; round < 20; round++) {
        const builder = single();
        const withCleanup = random() < 0.5;
        if (withCleanup) builder.cleanup();
        const { jobId } = await h.submitAndStart(builder);
        const i = await h.register(jobId, 0);
        const first = random() < 0.5;
        const [cancel, success] = first
          ? await Promise.all([kindOf(cancelJob(h.service.engine, jobId)), kindOf(h.succeed(jobId, 0, i.taskInstanceId, [out("v")]))])
          : (await Promise.all([kindOf(h.succeed(jobId, 0, i.taskInstanceId, [out("v")])), kindOf(cancelJob(h.service.engine, jobId))])).reverse();
        const state = await getJobState(h.service.engine, jobId);
        expect(await fixture.store.getJobState(jobId)).toBe(state);
        if (success === "ok:Succeeded") {
          expect(state).toBe("Succeeded");
          expect(cancel).toBe("ok:Succeeded");
        } else {
          expect(success).toBe("failed_precondition");
          expect(state).toBe(withCleanup ? "CleanupReady" : "Cancelled");
          expect(cancel).toBe(`ok:${state}`);
        }
        seen.add(state);
      }
      console.log(`[engine test] cancel vs success (${storeKind}): ${[...seen].join(", ")}`);
      await h.close();
    });

    it("two outcomes for one task never both win", async () => {
      const h = await Harness.create(fixture.store);
      for (let round = 0; round < 10; round++) {
        const { jobId } = await h.submitAndStart(
          new TaskGraphBuilder()
            .task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumInstances: 2 } })
            .task({ inputs: [BYTES], outputs: [BYTES] }),
        );
        const [a, b] = await Promise.all([h.register(jobId, 0), h.register(jobId, 0)]);
        const results = await Promise.all([
          kindOf(h.succeed(jobId, 0, a.taskInstanceId, [out("a")])),
          kindOf(h.succeed(jobId, 0, b.taskInstanceId, [out("b")])),
          kindOf(h.fail(jobId, 0, a.taskInstanceId)),
        ]);
        expect(results.filter((r) => r.startsWith("ok")).length).toBe(1);
        expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Succeeded", liveInstances: 0 });
      }
      await h.close();
    });
  });
}
