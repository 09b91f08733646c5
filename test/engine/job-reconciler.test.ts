/**
 * The reconciler on its own (fake jobs, no store): a pass settles what it
 * can, keeps the rest, and stops at the first job that finds the database
 * unreachable (the others would only wait for the same outage); the byte
 * budget of kept results.
 */
import { describe, expect, it } from "vitest";
import { JobReconciler, type ReconcileResult } from "../../src/cache/job-reconciler.ts";
import { silentLogger } from "../../src/observability/logger.ts";

function job(jobId: bigint, results: ReconcileResult[]) {
  const calls: number[] = [];
  return {
    jobId,
    calls,
    reconcile: async (): Promise<ReconcileResult> => {
      calls.push(calls.length);
      return results.shift() ?? "settled";
    },
  };
}

describe("JobReconciler", () => {
  it("a pass settles what it can and stops at the first job that finds the database unreachable", async () => {
    const reconciler = new JobReconciler({ logger: silentLogger() });
    const a = job(1n, ["settled"]);
    const b = job(2n, ["unreachable", "settled"]);
    const c = job(3n, ["settled"]);
    for (const j of [a, b, c]) reconciler.add(j);
    expect(await reconciler.reconcileAll()).toBe(2);
    expect([a.calls.length, b.calls.length, c.calls.length]).toEqual([1, 1, 0]);
    expect(await reconciler.reconcileAll()).toBe(0);
    expect([a.calls.length, b.calls.length, c.calls.length]).toEqual([1, 2, 1]);
  });

  it("keeps results within its byte budget, unless forced (an unknown outcome must be kept)", () => {
    const reconciler = new JobReconciler({ logger: silentLogger(), maxKeptBytes: 100 });
    expect(reconciler.reserve(60)).toBe(true);
    expect(reconciler.reserve(50)).toBe(false);
    expect(reconciler.keptBytes).toBe(60);
    expect(reconciler.reserve(50, true)).toBe(true);
    reconciler.release(110);
    expect(reconciler.keptBytes).toBe(0);
  });
});
