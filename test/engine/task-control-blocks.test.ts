/**
 * Task control blocks through the job control block (spec §7.4), for regular
 * tasks and for the commit and cleanup tasks, on both stores (DECISIONS D13).
 */
import { describe, expect, it } from "vitest";
import { isStorageError } from "../../src/core/errors.ts";
import { CLEANUP_TASK, COMMIT_TASK, taskIndex, type TaskId } from "../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder, type PolicyOptions } from "../../testkit/task-graph-builder.ts";
import { decodeTaskOutputs } from "../../src/core/task-outputs.ts";
import { decodeWireFrame } from "../../src/core/wire-frame.ts";
import { Harness } from "./helpers/harness.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { diamondGraph } from "./helpers/workload-graphs.ts";
import { cancelJob } from "../../src/service/cancel-job.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobOutputs } from "../../src/service/get-job-outputs.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { liveInstances } from "../../src/service/inspect-engine.ts";
import { registerExecutionManager } from "../../src/service/register-execution-manager.ts";

const out = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function staleText(error: unknown): string {
  if (!isStorageError(error, "failed_precondition")) throw error;
  return error.message;
}

type Kind = "regular" | "commit" | "cleanup";

/** A job whose task of `kind` can take instances now, with `policy`. */
async function subject(harness: Harness, kind: Kind, policy: PolicyOptions): Promise<{ jobId: bigint; taskId: TaskId }> {
  if (kind === "regular") {
    const builder = new TaskGraphBuilder()
      .task({ inputs: [BYTES], outputs: [BYTES], policy })
      .task({ inputs: [BYTES], outputs: [BYTES] });
    const { jobId } = await harness.submitAndStart(builder);
    return { jobId, taskId: taskIndex(0) };
  }
  const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] });
  if (kind === "commit") builder.commit({ policy });
  else builder.cleanup({ policy });
  const { jobId } = await harness.submitAndStart(builder);
  if (kind === "commit") {
    const { taskInstanceId } = await harness.register(jobId, 0);
    expect(await harness.succeed(jobId, 0, taskInstanceId, [out("x")])).toBe("CommitReady");
    return { jobId, taskId: COMMIT_TASK };
  }
  expect(await cancelJob(harness.service.engine, jobId)).toBe("CleanupReady");
  return { jobId, taskId: CLEANUP_TASK };
}

/** Outputs a report of `taskId` carries (ignored for termination tasks). */
const outputsFor = (taskId: TaskId): Uint8Array[] => (taskId.kind === "index" ? [out("o")] : []);

for (const storeKind of STORE_KINDS) {
  describe(`task control blocks (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    for (const kind of ["regular", "commit", "cleanup"] as const) {
      describe(`${kind} task`, () => {
        it("accepts concurrent registrations up to the instance limit", async () => {
          const harness = await Harness.create(fixture.store);
          const { jobId, taskId } = await subject(harness, kind, { maxNumInstances: 10 });
          const results = await Promise.allSettled(Array.from({ length: 10 }, () => harness.register(jobId, taskId)));
          expect(results.every((r) => r.status === "fulfilled")).toBe(true);
          const ids = new Set(results.map((r) => (r as PromiseFulfilledResult<{ taskInstanceId: bigint }>).value.taskInstanceId));
          expect(ids.size).toBe(10);
          await harness.close();
        });

        it("refuses registrations beyond the limit", async () => {
          const harness = await Harness.create(fixture.store);
          const { jobId, taskId } = await subject(harness, kind, { maxNumInstances: 10 });
          const results = await Promise.allSettled(Array.from({ length: 16 }, () => harness.register(jobId, taskId)));
          expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
          const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
          expect(rejected).toHaveLength(6);
          for (const r of rejected) expect(staleText(r.reason)).toContain("upper limit");
          await harness.close();
        });

        it("refuses registrations after the task terminated", async () => {
          const harness = await Harness.create(fixture.store);
          const { jobId, taskId } = await subject(harness, kind, { maxNumInstances: 10 });
          const first = await harness.register(jobId, taskId);
          await harness.succeed(jobId, taskId, first.taskInstanceId, outputsFor(taskId));
          const results = await Promise.allSettled(Array.from({ length: 10 }, () => harness.register(jobId, taskId)));
          for (const r of results) {
            expect(r.status).toBe("rejected");
            expect(staleText((r as PromiseRejectedResult).reason)).toMatch(/terminal state|terminated/);
          }
          await harness.close();
        });

        it("retries after a failure and then succeeds with a new instance", async () => {
          const harness = await Harness.create(fixture.store);
          const { jobId, taskId } = await subject(harness, kind, { maxNumRetry: 1 });
          const lane = kind === "regular" ? "task" : kind;
          await harness.drain(lane);
          const a = await harness.register(jobId, taskId);
          const before = await getJobState(harness.service.engine, jobId);
          expect(await harness.fail(jobId, taskId, a.taskInstanceId)).toBe(before);
          expect(await harness.drain(lane)).toEqual([taskId]); // re-enqueued
          const b = await harness.register(jobId, taskId);
          const after = await harness.succeed(jobId, taskId, b.taskInstanceId, outputsFor(taskId));
          expect(after).toBe(kind === "regular" ? "Running" : kind === "commit" ? "Succeeded" : "Cancelled");
          await harness.close();
        });

        it("fails on the first failure without retries, then rejects the stale and the surviving instance", async () => {
          const harness = await Harness.create(fixture.store);
          const { jobId, taskId } = await subject(harness, kind, { maxNumInstances: 2, maxNumRetry: 0 });
          const a = await harness.register(jobId, taskId);
          const b = await harness.register(jobId, taskId);
          expect(await harness.fail(jobId, taskId, a.taskInstanceId, "boom")).toBe("Failed");
          expect(staleText(await harness.succeed(jobId, taskId, a.taskInstanceId, outputsFor(taskId)).catch((e) => e))).toMatch(
            /not valid|terminated/,
          );
          expect(staleText(await harness.succeed(jobId, taskId, b.taskInstanceId, outputsFor(taskId)).catch((e) => e))).toMatch(
            /terminated/,
          );
          expect(await getJobError(harness.service.engine, jobId)).toBe("boom");
          expect(liveInstances(harness.service.engine).filter((i) => i.jobId === jobId)).toEqual([]);
          await harness.close();
        });

        it("evicting the only instance (dead execution manager) makes the task Ready again without a retry", async () => {
          const harness = await Harness.create(fixture.store);
          const { jobId, taskId } = await subject(harness, kind, { maxNumRetry: 0 });
          const lane = kind === "regular" ? "task" : kind;
          await harness.drain(lane);
          const emId = (await registerExecutionManager(harness.service.engine, "10.1.1.1")).executionManagerId;
          const a = await harness.register(jobId, taskId, emId);
          expect(harness.service.pool.evictExecutionManagers([emId])).toBe(1);
          expect(await harness.drain(lane)).toEqual([taskId]);
          expect(staleText(await harness.succeed(jobId, taskId, a.taskInstanceId, outputsFor(taskId)).catch((e) => e))).toContain(
            "not valid",
          );
          // The dead manager cannot register again; a live one can, and the retry budget is intact.
          expect(staleText(await harness.register(jobId, taskId, emId).catch((e) => e))).toContain("dead");
          const b = await harness.register(jobId, taskId);
          await harness.succeed(jobId, taskId, b.taskInstanceId, outputsFor(taskId));
          await harness.close();
        });

        it("evicting one of two instances leaves the other to succeed", async () => {
          const harness = await Harness.create(fixture.store);
          const { jobId, taskId } = await subject(harness, kind, { maxNumInstances: 2 });
          const emId = (await registerExecutionManager(harness.service.engine, "10.1.1.2")).executionManagerId;
          const a = await harness.register(jobId, taskId, emId);
          const b = await harness.register(jobId, taskId);
          harness.service.pool.evictExecutionManagers([emId]);
          expect(staleText(await harness.succeed(jobId, taskId, a.taskInstanceId, outputsFor(taskId)).catch((e) => e))).toContain(
            "not valid",
          );
          await harness.succeed(jobId, taskId, b.taskInstanceId, outputsFor(taskId));
          await harness.close();
        });
      });
    }

    it("runs a diamond in sequence: inputs delivered, children released by their last parent", async () => {
      const harness = await Harness.create(fixture.store);
      const { jobId } = await harness.submitAndStart(diamondGraph(), [out("in")]);
      expect(await harness.drain()).toEqual([taskIndex(0)]);
      const a = await harness.register(jobId, 0);
      expect(decodeWireFrame(a.serializedTaskIo).map(text)).toEqual(["in"]);
      await harness.succeed(jobId, 0, a.taskInstanceId, [out("in+A")]);
      expect(await harness.drain()).toEqual([taskIndex(1), taskIndex(2)]);
      const b = await harness.register(jobId, 1);
      expect(decodeWireFrame(b.serializedTaskIo).map(text)).toEqual(["in+A"]);
      await harness.succeed(jobId, 1, b.taskInstanceId, [out("B")]);
      expect(await harness.drain()).toEqual([]); // D still waits for C
      expect(staleText(await harness.register(jobId, 3).catch((e) => e))).toContain("not ready");
      const c = await harness.register(jobId, 2);
      await harness.succeed(jobId, 2, c.taskInstanceId, [out("C")]);
      expect(await harness.drain()).toEqual([taskIndex(3)]);
      const d = await harness.register(jobId, 3);
      expect(decodeWireFrame(d.serializedTaskIo).map(text)).toEqual(["B", "C"]);
      expect(await harness.succeed(jobId, 3, d.taskInstanceId, [out("D")])).toBe("Succeeded");
      const outputs = decodeTaskOutputs(await getJobOutputs(harness.service.engine, jobId), { maxOutputBytes: 1 << 20 });
      expect(outputs.map(text)).toEqual(["D"]);
      await harness.close();
    });

    it("runs a diamond with B and C succeeding concurrently: D released exactly once", async () => {
      const harness = await Harness.create(fixture.store);
      const { jobId } = await harness.submitAndStart(diamondGraph(), [out("in")]);
      const a = await harness.register(jobId, 0);
      await harness.succeed(jobId, 0, a.taskInstanceId, [out("A")]);
      await harness.drain();
      const [b, c] = await Promise.all([harness.register(jobId, 1), harness.register(jobId, 2)]);
      await Promise.all([
        harness.succeed(jobId, 1, b.taskInstanceId, [out("B")]),
        harness.succeed(jobId, 2, c.taskInstanceId, [out("C")]),
      ]);
      expect(await harness.drain()).toEqual([taskIndex(3)]);
      const d = await harness.register(jobId, 3);
      expect(decodeWireFrame(d.serializedTaskIo).map(text)).toEqual(["B", "C"]);
      expect(await harness.succeed(jobId, 3, d.taskInstanceId, [out("D")])).toBe("Succeeded");
      await harness.close();
    });
  });
}
