/**
 * JCB workload integration (spec §7.10, Spider's jcb_test.rs): 64 concurrent
 * in-process simulated execution managers drive whole jobs through the
 * service layer; policies retry 3 / instances 2; half of the first-seen tasks
 * get two concurrent injected failures. Each scenario runs on both stores and
 * then checks what the store holds.
 */
import { describe, expect, it } from "vitest";
import { decodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { TaskGraphBuilder, BYTES } from "../../testkit/task-graph-builder.ts";
import { Harness } from "./helpers/harness.ts";
import { seededRandom, testSeed } from "./helpers/seeded-random.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { expectedOutputs } from "./helpers/task-function.ts";
import { runWorkload, type WorkloadResult } from "./helpers/workload-driver.ts";
import { flatGraph, layeredGraph, WORKLOAD_POLICY } from "./helpers/workload-graphs.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobOutputs } from "../../src/service/get-job-outputs.ts";
import { liveInstances } from "../../src/service/inspect-engine.ts";

const KIB = 1024;
/** The 10 000-task graphs here are above the default graph limits (sized for the event loop, issue 17). */
const LARGE_GRAPHS = { maxTasks: 20_000, maxDependencies: 1_000_000, maxTaskGraphValues: 10_000_000, maxTaskGraphBytes: 64 * 1024 * 1024 };

function expectClean(result: WorkloadResult): void {
  expect(result.unexpected).toEqual([]);
}

/**
 * Where two byte lists first differ ("" when equal). vitest's deep equality
 * walks typed arrays element by element and diffs them on failure: far too
 * slow for 10 MB of outputs.
 */
function firstDifference(actual: readonly Uint8Array[] | undefined, expected: readonly Uint8Array[]): string {
  if (actual === undefined) return "no outputs";
  if (actual.length !== expected.length) return `${actual.length} outputs, expected ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (Buffer.compare(actual[i]!, expected[i]!) !== 0) return `output ${i} differs`;
  }
  return "";
}

for (const storeKind of STORE_KINDS) {
  describe(`workloads (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("flat: 10 000 tasks with 1 KiB payloads, commit and cleanup, injected failures → Succeeded", async () => {
      const seed = testSeed(`flat success (${storeKind})`);
      const h = await Harness.create(fixture.store, { config: { limits: LARGE_GRAPHS } });
      const builder = flatGraph(10_000, { policy: WORKLOAD_POLICY, termination: true });
      const inputs = Array.from({ length: 10_000 }, (_, i) => new Uint8Array(KIB).fill(i % 251));
      const { jobId, graph } = await h.submitAndStart(builder, inputs);
      const result = await runWorkload(h, jobId, graph, {
        outputSize: KIB,
        doubleFailureRate: 0.5,
        random: seededRandom(seed),
      });
      console.log(`[engine test] flat success (${storeKind}): ${Math.round(result.elapsedMs)} ms, ${result.registrations} registrations, ${result.failuresReported} failures`);
      expectClean(result);
      expect(result.state).toBe("Succeeded");
      expect(result.taskSuccesses).toBe(10_000);
      expect(result.commitCount).toBe(1);
      expect(result.cleanupCount).toBe(0);
      expect(result.failuresReported).toBeGreaterThan(0);
      const expected = expectedOutputs(graph, inputs, KIB);
      expect(result.commitInputs?.length).toBe(10_000);
      expect(firstDifference(result.commitInputs, expected)).toBe("");
      const stored = decodeTaskOutputs(await fixture.store.getJobOutputs(jobId), { maxOutputBytes: 1 << 30 });
      expect(await fixture.store.getJobState(jobId)).toBe("Succeeded");
      expect(firstDifference(stored, expected)).toBe("");
      expect(liveInstances(h.service.engine)).toHaveLength(0);
      await h.close();
    });

    it("flat: cancelled right after start → Cancelled, cleanup exactly once, no commit", async () => {
      const seed = testSeed(`flat cancel (${storeKind})`);
      const h = await Harness.create(fixture.store);
      const { jobId, graph } = await h.submitAndStart(flatGraph(1_000, { policy: WORKLOAD_POLICY, termination: true }));
      const result = await runWorkload(h, jobId, graph, { cancelAfterMs: 0, doubleFailureRate: 0.5, random: seededRandom(seed) });
      expectClean(result);
      expect(result.state).toBe("Cancelled");
      expect(result.commitCount).toBe(0);
      expect(result.cleanupCount).toBe(1);
      expect(result.taskSuccesses).toBe(0);
      expect(await fixture.store.getJobState(jobId)).toBe("Cancelled");
      await h.close();
    });

    it("layered: 10 layers × 1 000 tasks with 25 random inputs each, injected failures → Succeeded", async () => {
      const seed = testSeed(`layered success (${storeKind})`);
      const random = seededRandom(seed);
      const h = await Harness.create(fixture.store, { config: { limits: LARGE_GRAPHS } });
      const builder = layeredGraph(10, 1_000, 25, random, WORKLOAD_POLICY);
      const { jobId, graph, inputs } = await h.submitAndStart(builder);
      const result = await runWorkload(h, jobId, graph, { doubleFailureRate: 0.5, random });
      console.log(`[engine test] layered success (${storeKind}): ${Math.round(result.elapsedMs)} ms, ${result.registrations} registrations`);
      expectClean(result);
      expect(result.state).toBe("Succeeded");
      expect(result.taskSuccesses).toBe(10_000);
      const stored = decodeTaskOutputs(await getJobOutputs(h.service.engine, jobId), { maxOutputBytes: 1 << 30 });
      expect(firstDifference(stored, expectedOutputs(graph, inputs))).toBe("");
      expect(await fixture.store.getJobState(jobId)).toBe("Succeeded");
      await h.close();
    });

    it("layered: cancelled right after start → Cancelled, no commit or cleanup", async () => {
      const seed = testSeed(`layered cancel (${storeKind})`);
      const random = seededRandom(seed);
      // 600 tasks × 25 inputs: more JSON values than the default max_task_graph_values allows.
      const h = await Harness.create(fixture.store, { config: { limits: LARGE_GRAPHS } });
      const { jobId, graph } = await h.submitAndStart(layeredGraph(3, 200, 25, random, WORKLOAD_POLICY));
      const result = await runWorkload(h, jobId, graph, { cancelAfterMs: 0, doubleFailureRate: 0.5, random });
      expectClean(result);
      expect(result.state).toBe("Cancelled");
      expect(result.commitCount + result.cleanupCount).toBe(0);
      expect(await fixture.store.getJobState(jobId)).toBe("Cancelled");
      await h.close();
    });

    it("tasks that always fail exhaust their retries → Failed with the message", async () => {
      const h = await Harness.create(fixture.store);
      const builder = new TaskGraphBuilder().tasksFrom(3, () => ({ inputs: [BYTES], outputs: [BYTES], policy: WORKLOAD_POLICY }));
      const { jobId, graph } = await h.submitAndStart(builder);
      const result = await runWorkload(h, jobId, graph, { alwaysFail: true });
      expectClean(result);
      expect(result.state).toBe("Failed");
      expect(result.taskSuccesses).toBe(0);
      expect(result.failuresReported).toBeGreaterThanOrEqual(4); // retry 3: the 4th failure of one task fails it
      expect(await getJobError(h.service.engine, jobId)).toMatch(/^injected failure of task \d$/);
      expect(await fixture.store.getJobState(jobId)).toBe("Failed");
      expect(liveInstances(h.service.engine)).toEqual([]);
      await h.close();
    });

    it("cancel racing execution ends Succeeded or Cancelled, consistently with the store", async () => {
      const seed = testSeed(`cancel race (${storeKind})`);
      const random = seededRandom(seed);
      const outcomes = new Set<string>();
      for (let round = 0; round < 6; round++) {
        const h = await Harness.create(fixture.store);
        const { jobId, graph } = await h.submitAndStart(flatGraph(100, { policy: WORKLOAD_POLICY, termination: round % 2 === 0 }));
        const result = await runWorkload(h, jobId, graph, {
          cancelAfterMs: 1 + Math.floor(random() * 4),
          doubleFailureRate: 0.5,
          random,
        });
        expectClean(result);
        expect(["Succeeded", "Cancelled"]).toContain(result.state);
        expect(await fixture.store.getJobState(jobId)).toBe(result.state);
        if (result.state === "Succeeded") expect(result.cleanupCount).toBe(0);
        else expect(result.commitCount).toBe(0);
        outcomes.add(result.state);
        expect(liveInstances(h.service.engine)).toEqual([]);
        await h.close();
      }
      console.log(`[engine test] cancel race (${storeKind}) outcomes: ${[...outcomes].join(", ")}`);
    });
  });
}
