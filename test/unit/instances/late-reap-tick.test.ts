/**
 * The dead-execution-manager sweep after this process did not run for a
 * while (issue 21's chaos run: a server SIGSTOPped past the cut-off declared
 * every manager dead when it ran again — its late reap timer fired before the
 * heartbeats queued in its sockets were read). A reap tick that comes late
 * restarts the grace, as an outage does (D6). The pool's clock is injected and
 * its timers are vitest's: a pause is the clock jumping while one tick fires.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TaskInstancePool, type LivenessStore } from "../../../src/instances/task-instance-pool.ts";

const CUTOFF_MS = 4_000;
const REAP_INTERVAL_MS = 1_000;

describe("the reap tick after a pause", () => {
  let clock = 0;
  let sweeps = 0;
  let pool: TaskInstancePool;
  const store: LivenessStore = {
    executionManagerLiveness: async () => "Alive" as never,
    reapDeadExecutionManagers: async () => {
      sweeps++;
      return [];
    },
  };

  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
    sweeps = 0;
    pool = new TaskInstancePool(store, { deadExecutionManagerCutoffMs: CUTOFF_MS, reapIntervalMs: REAP_INTERVAL_MS, now: () => clock });
    pool.start();
  });
  afterEach(async () => {
    await pool.stop();
    vi.useRealTimers();
  });

  /** One reap tick with the pool's clock moved by `elapsedMs` since the last (a pause when > the interval). */
  async function tick(elapsedMs: number): Promise<void> {
    clock += elapsedMs;
    await vi.advanceTimersByTimeAsync(REAP_INTERVAL_MS);
  }

  it("sweeps on time once the start-up grace has passed, but not on a tick that comes late after a pause", async () => {
    for (let i = 0; i < 5; i++) await tick(REAP_INTERVAL_MS);
    // The start-up grace (one cut-off) is over: ticks on time sweep.
    expect(sweeps).toBeGreaterThan(0);
    const before = sweeps;
    // The process was stopped for 5.4 s (longer than the cut-off): heartbeats wait unread.
    await tick(REAP_INTERVAL_MS + 5_400);
    expect(sweeps).toBe(before);
    // Ticks on time during the next cut-off still do not sweep (the managers' heartbeats land meanwhile)…
    for (let i = 0; i < 3; i++) await tick(REAP_INTERVAL_MS);
    expect(sweeps).toBe(before);
    // …and after it they do again.
    for (let i = 0; i < 2; i++) await tick(REAP_INTERVAL_MS);
    expect(sweeps).toBeGreaterThan(before);
  });
});
