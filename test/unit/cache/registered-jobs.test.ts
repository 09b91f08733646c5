/**
 * RegisteredJobs (src/cache/registered-jobs.ts): the just-registered jobs kept
 * for the StartJob that follows, bounded by count, bytes and age (injected
 * clock).
 */
import { describe, expect, it } from "vitest";
import { RegisteredJobs, type RegisteredJob } from "../../../src/cache/registered-jobs.ts";
import type { TaskGraph } from "../../../src/core/task-graph.ts";

const job = (bytes: number): RegisteredJob => ({ resourceGroupId: 1n, graph: {} as TaskGraph, inputs: [new Uint8Array(bytes)], bytes });

function withClock(limits: { maxJobs: number; maxBytes: number; maxAgeMs: number }) {
  let now = 0;
  const jobs = new RegisteredJobs({ ...limits, now: () => now });
  return { jobs, advance: (ms: number) => (now += ms) };
}

describe("RegisteredJobs", () => {
  it("a kept job is taken once", () => {
    const { jobs } = withClock({ maxJobs: 10, maxBytes: 1000, maxAgeMs: 100 });
    const kept = job(10);
    jobs.keep(1n, kept);
    expect(jobs.take(1n)).toBe(kept);
    expect(jobs.take(1n)).toBeUndefined();
    expect({ size: jobs.size, bytes: jobs.bytes }).toEqual({ size: 0, bytes: 0 });
  });

  it("a job older than maxAgeMs is not given out", () => {
    const { jobs, advance } = withClock({ maxJobs: 10, maxBytes: 1000, maxAgeMs: 100 });
    jobs.keep(1n, job(10));
    jobs.keep(2n, job(10));
    advance(100);
    expect(jobs.take(1n)).toBeDefined(); // at the bound: still given
    advance(1);
    expect(jobs.take(2n)).toBeUndefined();
    expect(jobs.size).toBe(0);
  });

  it("expired entries are dropped when new ones are kept", () => {
    const { jobs, advance } = withClock({ maxJobs: 10, maxBytes: 1000, maxAgeMs: 100 });
    jobs.keep(1n, job(10));
    jobs.keep(2n, job(10));
    advance(101);
    jobs.keep(3n, job(10));
    expect({ size: jobs.size, bytes: jobs.bytes }).toEqual({ size: 1, bytes: 10 });
  });

  it("beyond maxJobs the oldest goes", () => {
    const { jobs } = withClock({ maxJobs: 2, maxBytes: 1000, maxAgeMs: 100 });
    jobs.keep(1n, job(1));
    jobs.keep(2n, job(1));
    jobs.keep(3n, job(1));
    expect([jobs.take(1n), jobs.take(2n) !== undefined, jobs.take(3n) !== undefined]).toEqual([undefined, true, true]);
  });

  it("beyond maxBytes the oldest go, and a job larger than the bound is not kept", () => {
    const { jobs } = withClock({ maxJobs: 10, maxBytes: 100, maxAgeMs: 100 });
    jobs.keep(1n, job(40));
    jobs.keep(2n, job(40));
    jobs.keep(3n, job(40));
    expect(jobs.bytes).toBe(80);
    expect(jobs.take(1n)).toBeUndefined();
    jobs.keep(4n, job(101));
    expect(jobs.take(4n)).toBeUndefined();
    expect(jobs.bytes).toBe(80);
  });

  it("a forgotten job is not given out", () => {
    const { jobs } = withClock({ maxJobs: 10, maxBytes: 100, maxAgeMs: 100 });
    jobs.keep(1n, job(5));
    jobs.forget(1n);
    expect(jobs.take(1n)).toBeUndefined();
    expect(jobs.bytes).toBe(0);
  });
});
