/**
 * Work handed out that never reaches anybody, on both stores (issue #16 F,
 * #17 items 8 and 9): a polled task nobody registers is offered again after
 * the re-offer time (injected clock); a registration whose caller went away
 * is withdrawn; a RegisterTaskInstance or GetJobOutputs answer above
 * runtime.limits.max_response_bytes is refused before it is built, and a
 * task whose inputs can never fit fails its job instead of staying Running.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RequeueCause } from "../../src/core/requeue-cause.ts";
import { outcomeUnknown, unavailable } from "../../src/core/errors.ts";
import { COMMIT_TASK, taskIndex } from "../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { FaultyStore } from "./helpers/faulty-store.ts";
import { Harness } from "./helpers/harness.ts";
import { refusal } from "./helpers/outcomes.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { cancelJob } from "../../src/service/cancel-job.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobOutputs } from "../../src/service/get-job-outputs.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { jobTasks, liveInstances } from "../../src/service/inspect-engine.ts";
import { refillQueue } from "../../src/service/refill-queue.ts";
import { registerTaskInstance } from "../../src/service/register-task-instance.ts";

const tasks = (count: number, maxNumRetry = 0, maxNumInstances = 1): TaskGraphBuilder =>
  new TaskGraphBuilder().tasksFrom(count, () => ({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry, maxNumInstances } }));

for (const storeKind of STORE_KINDS) {
  describe(`undelivered work (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("a polled task nobody registers is offered again after the re-offer time; a registered one is not", async () => {
      let now = 0;
      const requeues: string[] = [];
      const h = await Harness.create(fixture.store, {
        now: () => now,
        ready: false, // no timers: the test runs the re-offer sweep itself
        config: { queue: { reofferUnclaimedAfterMs: 30_000 } },
        hooks: { onTaskRequeued: (jobId, key, cause: RequeueCause) => requeues.push(`${jobId}/${key}:${cause}`) },
      });
      refillQueue(h.service.engine);
      // Two instances allowed: a registered task could still take another, so only the claim keeps it from a re-offer.
      const { jobId } = await h.submitAndStart(tasks(2, 0, 2));
      expect(await h.drain()).toEqual([taskIndex(0), taskIndex(1)]);
      await h.register(jobId, 0); // task 1 is never registered: its poller vanished
      now += 29_999;
      h.service.queue.reofferUnclaimed();
      expect(await h.drain()).toEqual([]);
      now += 1;
      h.service.queue.reofferUnclaimed();
      expect(await h.drain()).toEqual([taskIndex(1)]);
      expect(requeues).toEqual([`${jobId}/1:unclaimed_poll`]);
      await h.close();
    });

    it("tasks of an unsettled job whose handed-out entries the re-offer sweep dropped are dispatched once the job settles", async () => {
      let now = 0;
      const faulty = new FaultyStore(fixture.store);
      const h = await Harness.create(faulty.store, {
        now: () => now,
        ready: false, // no timers: the test runs the re-offer sweep and the reconciler itself
        config: { queue: { reofferUnclaimedAfterMs: 30_000 } },
      });
      refillQueue(h.service.engine);
      const { jobId } = await h.submitAndStart(tasks(2));
      expect(await h.drain()).toEqual([taskIndex(0), taskIndex(1)]); // handed out; their poller vanishes
      // A CancelJob whose outcome is unknown (it did not commit), and the row cannot be read: the job is unsettled.
      faulty.failNext("cancelJob", () => outcomeUnknown("connection lost during COMMIT (injected)"));
      faulty.failNext("getJobOutcome", () => unavailable("database down (injected)"), 1_000_000);
      expect((await refusal(cancelJob(h.service.engine, jobId))).kind).toBe("internal");
      now += 30_000;
      expect(h.service.queue.reofferUnclaimed()).toBe(0); // dropped: an unsettled job takes no instance
      expect(await h.drain()).toEqual([]);
      faulty.heal();
      expect(await h.service.reconcileUnsettledJobs()).toBe(0);
      expect(await getJobState(h.service.engine, jobId)).toBe("Running"); // the cancel never happened
      expect(await h.drain()).toEqual([taskIndex(0), taskIndex(1)]);
      for (const index of [0, 1]) {
        const context = await h.register(jobId, index);
        await h.succeed(jobId, index, context.taskInstanceId, [new Uint8Array([index])]);
      }
      expect(await getJobState(h.service.engine, jobId)).toBe("Succeeded");
      await h.close();
    });

    it("tasks whose entries were dropped while an operator's reload held the job are dispatched when the reload gives up", async () => {
      const h = await Harness.create(fixture.store);
      const { jobId } = await h.submitAndStart(tasks(2));
      const jcb = h.service.cache.get(jobId)!;
      await jcb.retire(); // reload-job.ts: the old block refuses everything while the row is read
      expect(await h.drain()).toEqual([]); // the entries are dropped: a retired block takes no instance
      jcb.unretire(); // the reload failed: the block goes on
      expect(await h.drain()).toEqual([taskIndex(0), taskIndex(1)]);
      await h.close();
    });

    it("a registration whose caller went away is withdrawn: the task is Ready and queued again, no retry consumed, counted as undelivered_instance", async () => {
      const requeues: string[] = [];
      const h = await Harness.create(fixture.store, {
        hooks: { onTaskRequeued: (jobId, key, cause: RequeueCause) => requeues.push(`${jobId}/${key}:${cause}`) },
      });
      const { jobId } = await h.submitAndStart(tasks(1)); // no retries: a consumed one would fail the job
      expect(await h.drain()).toEqual([taskIndex(0)]);
      const gone = new AbortController();
      gone.abort();
      const error = await refusal(
        registerTaskInstance(h.service.engine, { sessionId: h.sessionId, jobId, taskId: taskIndex(0), executionManagerId: h.executionManagerId, signal: gone.signal }),
      );
      expect(error.kind).toBe("failed_precondition");
      expect(liveInstances(h.service.engine)).toEqual([]);
      expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", liveInstances: 0 });
      expect(await h.drain()).toEqual([taskIndex(0)]);
      expect(requeues).toEqual([`${jobId}/0:undelivered_instance`]);
      // And the task still runs to the end.
      const context = await h.register(jobId, 0);
      expect(await h.succeed(jobId, 0, context.taskInstanceId, [new Uint8Array([1])])).toBe("Succeeded");
      await h.close();
    });

    it("a task whose inputs exceed max_response_bytes is refused (failed_precondition naming the limit) and its job fails", async () => {
      const h = await Harness.create(fixture.store, { config: { limits: { maxResponseBytes: 4096 } } });
      const { jobId } = await h.submitAndStart(tasks(1), [new Uint8Array(5000)]);
      expect(await h.drain()).toEqual([taskIndex(0)]);
      const error = await refusal(h.register(jobId, 0));
      expect(error.kind).toBe("failed_precondition");
      expect(error.message).toContain("runtime.limits.max_response_bytes");
      expect(error.message.length).toBeLessThan(300);
      expect(await getJobState(h.service.engine, jobId)).toBe("Failed");
      expect(await getJobError(h.service.engine, jobId)).toContain("runtime.limits.max_response_bytes");
      expect(liveInstances(h.service.engine)).toEqual([]);
      await h.close();
    });

    it("with retries left, the first oversized attempt fails the job (every retry would be refused the same way)", async () => {
      const requeues: string[] = [];
      const h = await Harness.create(fixture.store, {
        config: { limits: { maxResponseBytes: 4096 } },
        hooks: { onTaskRequeued: (jobId, key, cause: RequeueCause) => requeues.push(`${jobId}/${key}:${cause}`) },
      });
      const { jobId } = await h.submitAndStart(tasks(1, 3), [new Uint8Array(5000)]);
      expect(await h.drain()).toEqual([taskIndex(0)]);
      const error = await refusal(h.register(jobId, 0));
      expect(error.kind).toBe("failed_precondition");
      expect(await getJobState(h.service.engine, jobId)).toBe("Failed");
      expect(await getJobError(h.service.engine, jobId)).toContain("runtime.limits.max_response_bytes");
      expect(requeues).toEqual([]); // no retry consumed, nothing queued again
      expect(await h.drain()).toEqual([]);
      expect(liveInstances(h.service.engine)).toEqual([]);
      await h.close();
    });

    it("inputs that fit are answered as before, right up to the limit", async () => {
      const h = await Harness.create(fixture.store, { config: { limits: { maxResponseBytes: 4096 } } });
      const { jobId } = await h.submitAndStart(tasks(1), [new Uint8Array(3000)]);
      const context = await h.register(jobId, 0);
      expect(context.serializedTaskIo.length).toBeGreaterThan(3000);
      await h.close();
    });

    it("a commit task whose input (the job outputs) exceeds max_response_bytes fails the job", async () => {
      const h = await Harness.create(fixture.store, { config: { limits: { maxResponseBytes: 4096 } } });
      const { jobId } = await h.submitAndStart(tasks(1).commit());
      const context = await h.register(jobId, 0);
      // Random bytes: the job outputs encoding compresses, and zeros would shrink below the limit.
      expect(await h.succeed(jobId, 0, context.taskInstanceId, [randomBytes(5000)])).toBe("CommitReady");
      expect(await h.drain("commit")).toEqual([COMMIT_TASK]);
      const error = await refusal(h.register(jobId, COMMIT_TASK));
      expect(error.kind).toBe("failed_precondition");
      expect(error.message).toContain("runtime.limits.max_response_bytes");
      expect(await getJobState(h.service.engine, jobId)).toBe("Failed");
      await h.close();
    });

    it("GetJobOutputs above max_response_bytes is refused with invalid_argument naming the limit, cached or not (uncached: without reading the outputs)", async () => {
      const h = await Harness.create(fixture.store, { config: { limits: { maxResponseBytes: 4096 } } });
      const big = await h.submitAndStart(tasks(1));
      const small = await h.submitAndStart(tasks(1));
      for (const [job, size] of [
        [big, 5000],
        [small, 100],
      ] as const) {
        const context = await h.register(job.jobId, 0);
        // Random bytes: the job outputs encoding compresses, and zeros would shrink below the limit.
        expect(await h.succeed(job.jobId, 0, context.taskInstanceId, [randomBytes(size)])).toBe("Succeeded");
      }
      expect((await getJobOutputs(h.service.engine, small.jobId)).length).toBeGreaterThan(100);
      const cached = await refusal(getJobOutputs(h.service.engine, big.jobId));
      expect(cached.kind).toBe("invalid_argument");
      expect(cached.message).toContain("runtime.limits.max_response_bytes");
      // A second service over the same store has nothing cached: the answer comes from the store,
      // which is asked the outputs' size first — the blob that cannot be sent is never read.
      const store = new FaultyStore(fixture.store);
      const fresh = await Harness.create(store.store, { config: { limits: { maxResponseBytes: 4096 } } });
      const uncached = await refusal(getJobOutputs(fresh.service.engine, big.jobId));
      expect(uncached.kind).toBe("invalid_argument");
      expect(uncached.message).toContain("runtime.limits.max_response_bytes");
      expect(store.callsOf("getJobOutputs")).toBe(0);
      expect((await getJobOutputs(fresh.service.engine, small.jobId)).length).toBeGreaterThan(100);
      expect(store.callsOf("getJobOutputs")).toBe(1);
      await fresh.close();
      await h.close();
    });
  });
}
