/**
 * The operator's repairs on a running server — `jobs fail`, `em release`,
 * `jobs retry` — on both stores: they go through the JobStore like every other
 * use case, so the in-memory store runs them and fault injection reaches them.
 * A fault on their store call answers what DECISIONS D5 names (database
 * unreachable: UNAVAILABLE; a lost answer: INTERNAL) and leaves the engine as
 * it was.
 */
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { unavailable } from "../../src/core/errors.ts";
import { taskIndex } from "../../src/core/ids.ts";
import { statusOfKind } from "../../src/grpc/status.ts";
import { failJobByOperator } from "../../src/service/fail-job-by-operator.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { heartbeatExecutionManager } from "../../src/service/heartbeat-execution-manager.ts";
import { jobTasks, liveInstances } from "../../src/service/inspect-engine.ts";
import { releaseExecutionManager } from "../../src/service/release-execution-manager.ts";
import { retryFailedJob } from "../../src/service/retry-failed-job.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { FaultyStore } from "./helpers/faulty-store.ts";
import { Harness } from "./helpers/harness.ts";
import { kindOf, refusal } from "./helpers/outcomes.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";

const single = (maxNumRetry = 2) => new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], policy: { maxNumRetry } });

/** A started single-task job with one live instance of its task. */
async function jobWithLiveInstance(h: Harness, maxNumRetry = 2): Promise<{ jobId: bigint; taskInstanceId: bigint }> {
  const { jobId } = await h.submitAndStart(single(maxNumRetry));
  expect(await h.drain()).toEqual([taskIndex(0)]);
  const { taskInstanceId } = await h.register(jobId, 0);
  return { jobId, taskInstanceId };
}

for (const storeKind of STORE_KINDS) {
  describe(`operator repairs (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    describe("jobs fail", () => {
      it("fails a running job with the operator's reason and takes it out of the cache; its instance's report is refused", async () => {
        const h = await Harness.create(fixture.store);
        const { jobId, taskInstanceId } = await jobWithLiveInstance(h);
        expect(await failJobByOperator(h.service.engine, jobId, "stuck on a bad host")).toEqual({ previousState: "Running", state: "Failed" });
        expect(h.service.engine.cache.get(jobId)).toBeUndefined();
        expect(liveInstances(h.service.engine)).toEqual([]);
        expect(await fixture.store.getJobState(jobId)).toBe("Failed");
        expect(await getJobError(h.service.engine, jobId)).toBe("failed by operator: stuck on a bad host");
        expect(await kindOf(h.succeed(jobId, 0, taskInstanceId, [new Uint8Array(1)]))).toBe("failed_precondition");
        await h.close();
      });

      it("fails a Ready job too (D4); refuses a job that has ended, saying its state, and an unknown job", async () => {
        const h = await Harness.create(fixture.store);
        const { jobId } = await h.submit(single());
        expect(await failJobByOperator(h.service.engine, jobId, "never mind")).toEqual({ previousState: "Ready", state: "Failed" });
        const again = await refusal(failJobByOperator(h.service.engine, jobId, "again"));
        expect(again.kind).toBe("failed_precondition");
        expect(again.message).toBe(`job ${jobId} is already Failed: only a job that has not ended can be failed`);
        expect(await getJobError(h.service.engine, jobId)).toBe("failed by operator: never mind");
        expect(await kindOf(failJobByOperator(h.service.engine, 999_999_999n, "who"))).toBe("not_found");
        await h.close();
      });
    });

    describe("em release", () => {
      it("declares the execution manager dead and queues its instances' tasks again without using a retry", async () => {
        const h = await Harness.create(fixture.store);
        const { jobId } = await jobWithLiveInstance(h, 2);
        const engine = h.service.engine;
        expect(await releaseExecutionManager(engine, h.executionManagerId)).toEqual({ wasAlive: true, releasedInstances: 1 });
        expect(await fixture.store.executionManagerLiveness(h.executionManagerId)).toBe("dead");
        expect(await kindOf(heartbeatExecutionManager(engine, h.executionManagerId))).toBe("failed_precondition");
        expect(jobTasks(engine, jobId)[0]).toMatchObject({ state: "Ready", liveInstances: 0, retriesLeft: 2 });
        expect(await h.drain()).toEqual([taskIndex(0)]);
        // Already dead: nothing left to release.
        expect(await releaseExecutionManager(engine, h.executionManagerId)).toEqual({ wasAlive: false, releasedInstances: 0 });
        expect(await kindOf(releaseExecutionManager(engine, 999_999_999n))).toBe("not_found");
        await h.close();
      });
    });

    describe("jobs retry", () => {
      it("refuses a job that is not Failed, and a Failed job whose stored graph does not decode (it stays Failed)", async () => {
        const h = await Harness.create(fixture.store);
        const { jobId: running } = await h.submitAndStart(single());
        const notFailed = await refusal(retryFailedJob(h.service.engine, running));
        expect(notFailed.kind).toBe("failed_precondition");
        expect(notFailed.message).toBe(`job ${running} is Running: only a Failed job can be retried`);
        const garbled = await fixture.store.insertJob(h.resourceGroupId, new Uint8Array([1, 2, 3]), new Uint8Array([4]));
        await fixture.store.failJobBy(garbled, "quarantined: test", "quarantine");
        const undecodable = await refusal(retryFailedJob(h.service.engine, garbled));
        expect(undecodable.kind).toBe("failed_precondition");
        expect(undecodable.message).toContain(`job ${garbled} cannot be retried: its stored graph or inputs do not decode`);
        expect(await fixture.store.getJobState(garbled)).toBe("Failed");
        expect(await kindOf(retryFailedJob(h.service.engine, 999_999_999n))).toBe("not_found");
        await h.close();
      });

      it("runs a Failed job again: Running, its task queued with a full retry budget, and it can succeed", async () => {
        const h = await Harness.create(fixture.store);
        const { jobId } = await h.submitAndStart(single(0));
        expect(await h.drain()).toEqual([taskIndex(0)]);
        const first = await h.register(jobId, 0);
        expect(await h.fail(jobId, 0, first.taskInstanceId)).toBe("Failed");
        const retried = await retryFailedJob(h.service.engine, jobId);
        expect(retried).toMatchObject({ previousState: "Failed", state: "Running", cached: true, keptTasks: 0, rerunTasks: [0], enqueued: 1 });
        expect(await fixture.store.getJobState(jobId)).toBe("Running");
        expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", retriesLeft: 0 });
        expect(await h.drain()).toEqual([taskIndex(0)]);
        const second = await h.register(jobId, 0);
        expect(await h.succeed(jobId, 0, second.taskInstanceId, [new Uint8Array([7])])).toBe("Succeeded");
        expect(await getJobState(h.service.engine, jobId)).toBe("Succeeded");
        await h.close();
      });
    });

    describe("faults on the operator's store calls (D5)", () => {
      it("jobs fail while the database is unreachable answers UNAVAILABLE and changes nothing; it succeeds once the database is back", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await jobWithLiveInstance(h);
        faulty.failNext("failJobBy", () => unavailable("database down (injected)"));
        const refused = await refusal(failJobByOperator(h.service.engine, jobId, "stuck"));
        expect(statusOfKind(refused.kind)).toBe(grpc.status.UNAVAILABLE);
        expect(faulty.callsOf("failJobBy")).toBe(1);
        expect(h.service.engine.cache.get(jobId)).toBeDefined();
        expect(liveInstances(h.service.engine)).toHaveLength(1);
        expect(await fixture.store.getJobState(jobId)).toBe("Running");
        expect(await failJobByOperator(h.service.engine, jobId, "stuck")).toEqual({ previousState: "Running", state: "Failed" });
        await h.close();
      });

      it("em release whose answer is lost answers INTERNAL (outcome unknown); repeating it releases the instances", async () => {
        const faulty = new FaultyStore(fixture.store);
        const h = await Harness.create(faulty.store);
        const { jobId } = await jobWithLiveInstance(h);
        faulty.loseAnswerOfNext("markExecutionManagerDead");
        const lost = await refusal(releaseExecutionManager(h.service.engine, h.executionManagerId));
        expect(statusOfKind(lost.kind)).toBe(grpc.status.INTERNAL);
        expect(liveInstances(h.service.engine)).toHaveLength(1); // nothing evicted on an unknown outcome
        expect(await releaseExecutionManager(h.service.engine, h.executionManagerId)).toEqual({ wasAlive: false, releasedInstances: 1 });
        expect(jobTasks(h.service.engine, jobId)[0]).toMatchObject({ state: "Ready", liveInstances: 0 });
        await h.close();
      });
    });
  });
}
