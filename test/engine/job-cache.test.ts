/**
 * The job cache (spec §7.5) and cache GC (spec §7.6): terminal jobs leave the
 * cache after the retention and are then answered from the database with the
 * same answers (DECISIONS D5), on both stores.
 */
import { describe, expect, it } from "vitest";
import { JobCache } from "../../src/cache/job-cache.ts";
import { JobCacheGc } from "../../src/cache/job-cache-gc.ts";
import type { JobControlBlock } from "../../src/cache/job-control-block.ts";
import { isStorageError, type ErrorKind } from "../../src/core/errors.ts";
import { taskIndex } from "../../src/core/ids.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { Harness } from "./helpers/harness.ts";
import { STORE_KINDS, storeFixture } from "./helpers/stores.ts";
import { cancelJob } from "../../src/service/cancel-job.ts";
import { getJobError } from "../../src/service/get-job-error.ts";
import { getJobOutputs } from "../../src/service/get-job-outputs.ts";
import { getJobState } from "../../src/service/get-job-state.ts";
import { jobTasks, queueStats } from "../../src/service/inspect-engine.ts";
import { refillQueue } from "../../src/service/refill-queue.ts";

const out = (text: string): Uint8Array => new TextEncoder().encode(text);

async function answer(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    return value instanceof Uint8Array ? { ok: Buffer.from(value).toString("hex") } : { ok: value };
  } catch (error) {
    if (isStorageError(error)) return { error: error.kind as ErrorKind, message: error.message };
    throw error;
  }
}

/** A minimal stand-in: the cache only needs ids and states. */
const fakeJcb = (jobId: bigint, state = "Succeeded"): JobControlBlock => ({ jobId, state, detach: () => {} }) as unknown as JobControlBlock;

describe("JobCache", () => {
  it("inserts, gets, removes; a duplicate insert is an internal error", () => {
    const cache = new JobCache();
    cache.insert(fakeJcb(1n));
    expect(cache.get(1n)?.jobId).toBe(1n);
    expect(cache.get(2n)).toBeUndefined();
    const error = (() => {
      try {
        cache.insert(fakeJcb(1n));
      } catch (e) {
        return e;
      }
    })();
    expect(isStorageError(error, "internal")).toBe(true);
    expect(cache.remove(1n)?.jobId).toBe(1n);
    expect(cache.get(1n)).toBeUndefined();
  });

  it("removes a batch once, ignoring missing and repeated ids", () => {
    const cache = new JobCache();
    cache.insert(fakeJcb(1n));
    cache.insert(fakeJcb(2n));
    expect(cache.removeBatch([1n, 3n, 2n, 1n])).toBe(2);
    expect(cache.size).toBe(0);
  });

  it("stays consistent under concurrent insert/get/remove cycles", async () => {
    const cache = new JobCache();
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const id = BigInt(i + 1);
        await Promise.resolve();
        cache.insert(fakeJcb(id));
        await Promise.resolve();
        expect(cache.get(id)?.jobId).toBe(id);
        expect(cache.remove(id)?.jobId).toBe(id);
      }),
    );
    expect(cache.size).toBe(0);
  });
});

describe("JobCacheGc", () => {
  it("keeps jobs until the retention passes; the boundary is inclusive", () => {
    let now = 0;
    const cache = new JobCache();
    const gc = new JobCacheGc(cache, { retentionMs: 10_000, now: () => now });
    cache.insert(fakeJcb(1n));
    cache.insert(fakeJcb(2n));
    gc.track(1n);
    now = 1_000;
    gc.track(2n);
    now = 9_000;
    expect(gc.sweep()).toBe(0);
    expect(gc.pending).toBe(2);
    now = 10_000;
    expect(gc.sweep()).toBe(1);
    expect(cache.get(1n)).toBeUndefined();
    now = 20_000;
    expect(gc.sweep()).toBe(1);
    expect(cache.size).toBe(0);
  });

  it("never evicts a job that is not terminal", () => {
    let now = 0;
    const cache = new JobCache();
    const gc = new JobCacheGc(cache, { retentionMs: 1, now: () => now });
    cache.insert(fakeJcb(1n, "Running"));
    gc.track(1n);
    now = 100;
    expect(gc.sweep()).toBe(0);
    expect(cache.size).toBe(1);
  });
});

for (const storeKind of STORE_KINDS) {
  describe(`cache GC through the service (${storeKind} store)`, () => {
    const fixture = storeFixture(storeKind);

    it("serves the same answers from the database once terminal jobs left the cache", async () => {
      // The GC sweeps by hand on the service's clock (no timer): the "before" answers surely come from the cache.
      let clock = 0;
      const h = await Harness.create(fixture.store, { config: { jobCache: { retentionMs: 150, gcIntervalMs: 1_000_000 } }, now: () => clock });
      const single = () => new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] });
      // One job per terminal state, plus one CleanupReady and one Ready that must stay cached.
      const succeeded = await h.submitAndStart(single());
      const s = await h.register(succeeded.jobId, 0);
      await h.succeed(succeeded.jobId, 0, s.taskInstanceId, [out("the result")]);
      const failed = await h.submitAndStart(single());
      const f = await h.register(failed.jobId, 0);
      await h.fail(failed.jobId, 0, f.taskInstanceId, "the reason");
      const cancelled = await h.submitAndStart(single());
      await cancelJob(h.service.engine, cancelled.jobId);
      const cleaning = await h.submitAndStart(single().cleanup());
      await cancelJob(h.service.engine, cleaning.jobId);
      const ready = await h.submit(single());

      const ids = [succeeded.jobId, failed.jobId, cancelled.jobId, cleaning.jobId, ready.jobId];
      const snapshot = async () => {
        const out: unknown[] = [];
        for (const id of ids) {
          out.push(
            await answer(getJobState(h.service.engine, id)),
            await answer(getJobOutputs(h.service.engine, id)),
            await answer(getJobError(h.service.engine, id)),
          );
        }
        return out;
      };
      const before = await snapshot();
      const cancelsBefore = [await answer(cancelJob(h.service.engine, succeeded.jobId)), await answer(cancelJob(h.service.engine, failed.jobId)), await answer(cancelJob(h.service.engine, cancelled.jobId))];
      for (const id of ids) expect(h.service.cache.get(id)).toBeDefined();
      clock = 149;
      expect(h.service.gc.sweep()).toBe(0);
      clock = 150;
      expect(h.service.gc.sweep()).toBe(3);
      expect(h.service.cache.get(cancelled.jobId)).toBeUndefined();
      expect(h.service.cache.get(succeeded.jobId)).toBeUndefined();
      expect(h.service.cache.get(failed.jobId)).toBeUndefined();
      expect(h.service.cache.get(cleaning.jobId)).toBeDefined();
      expect(h.service.cache.get(ready.jobId)).toBeDefined();
      const after = await snapshot();
      // Messages may word the precondition differently; kinds and values must match.
      const strip = (list: unknown[]) => list.map((a) => (a as { error?: string }).error ?? a);
      expect(strip(after)).toEqual(strip(before));
      const cancelsAfter = [await answer(cancelJob(h.service.engine, succeeded.jobId)), await answer(cancelJob(h.service.engine, failed.jobId)), await answer(cancelJob(h.service.engine, cancelled.jobId))];
      expect(cancelsAfter).toEqual(cancelsBefore);
      expect(cancelsAfter).toEqual([{ ok: "Succeeded" }, { ok: "Failed" }, { ok: "Cancelled" }]);
      // Task-instance calls on an evicted job are stale, not errors of the service.
      expect(await answer(h.register(succeeded.jobId, taskIndex(0)))).toMatchObject({ error: "failed_precondition" });
      await h.close();
    });

    it("refill enqueues ready work of every cached job once, without duplicates", async () => {
      const h = await Harness.create(fixture.store);
      const a = await h.submitAndStart(TaskGraphBuilder.independent(3, BYTES));
      const b = await h.submitAndStart(new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES] }).commit());
      await h.drain();
      const i = await h.register(b.jobId, 0);
      await h.succeed(b.jobId, 0, i.taskInstanceId, [out("x")]);
      await h.drain("commit");
      expect(refillQueue(h.service.engine)).toBe(4);
      expect(refillQueue(h.service.engine)).toBe(0);
      expect(queueStats(h.service.engine).task.depth).toBe(3);
      expect((await h.drain()).length).toBe(3);
      expect((await h.drain("commit")).length).toBe(1);
      expect(jobTasks(h.service.engine, a.jobId).map((t) => t.state)).toEqual(["Ready", "Ready", "Ready"]);
      await h.close();
    });
  });
}
