/**
 * The sizes of a run. `full` is what the README quotes (under 15 minutes on
 * this 2-core machine); `smoke` is the seconds-long version CI runs. Every
 * workload has a count cap and a time cap, so each stops by itself.
 */
export interface Profile {
  readonly mode: "full" | "smoke";
  /** Submitters in W1 (every system) and callers of the no-op gRPC ceiling. */
  readonly concurrency: number;
  /** Jobs worked at once: spider-storage's 4 EMs × 4, the peers' worker concurrency. */
  readonly workers: number;
  /** Durable-commit ceiling connections (the server's default pool size). */
  readonly dbConnections: number;
  readonly ceilingMs: number;
  /**
   * W1 (issue 20): `jobs` for the capacity mode, enqueued by `producers` processes with
   * `producerConcurrency` enqueue calls in flight each; the latency mode offers half the
   * capacity for `latencySeconds` (at most `jobs` jobs). `capacityRounds`: how many times
   * every system's capacity mode runs, rounds interleaved across systems (the second in
   * the reverse order of the first), the goals read on the mean over rounds.
   */
  readonly w1: {
    readonly jobs: number;
    readonly warmup: number;
    readonly timeLimitMs: number;
    readonly producers: number;
    readonly producerConcurrency: number;
    readonly latencySeconds: number;
    readonly capacityRounds: number;
  };
  readonly w2: { readonly flatTasks: number; readonly dagLayers: number; readonly dagWidth: number; readonly dagFanIn: number; readonly timeLimitMs: number };
  readonly w3: { readonly jobs: number; readonly timeLimitMs: number };
  readonly w4: { readonly sizes: readonly number[]; readonly terminalJobs: number; readonly servingTimeoutMs: number };
  readonly w5: { readonly tasks: number; readonly tasksPerJob: number };
  /** W6: jobs in flight when the leader is killed (W1 on Galera uses w1's sizes). */
  readonly w6: { readonly jobs: number };
  /** Start-up (issue 20.5): server starts on an empty database and bare `node -e ''` starts, each this many times. */
  readonly startup: { readonly repetitions: number };
}

export const FULL: Profile = {
  mode: "full",
  concurrency: 32,
  workers: 16,
  dbConnections: 16,
  ceilingMs: 3_000,
  // 2 × 16 enqueues in flight, as many as the latency mode's cap: with 2 × 4, spider-storage's two
  // durable calls per enqueue made the producers' in-flight count its limit (README, issue 20).
  w1: { jobs: 15_000, warmup: 500, timeLimitMs: 60_000, producers: 2, producerConcurrency: 16, latencySeconds: 15, capacityRounds: 2 },
  w2: { flatTasks: 10_000, dagLayers: 10, dagWidth: 1_000, dagFanIn: 25, timeLimitMs: 120_000 },
  w3: { jobs: 4_000, timeLimitMs: 40_000 },
  w4: { sizes: [1_000, 10_000, 100_000], terminalJobs: 1_000_000, servingTimeoutMs: 120_000 },
  w5: { tasks: 100_000, tasksPerJob: 1_000 },
  w6: { jobs: 10_000 },
  startup: { repetitions: 7 },
};

export const SMOKE: Profile = {
  mode: "smoke",
  concurrency: 32,
  workers: 16,
  dbConnections: 16,
  ceilingMs: 500,
  w1: { jobs: 200, warmup: 20, timeLimitMs: 10_000, producers: 2, producerConcurrency: 16, latencySeconds: 1, capacityRounds: 2 },
  w2: { flatTasks: 300, dagLayers: 3, dagWidth: 50, dagFanIn: 5, timeLimitMs: 15_000 },
  w3: { jobs: 60, timeLimitMs: 5_000 },
  w4: { sizes: [100], terminalJobs: 2_000, servingTimeoutMs: 60_000 },
  w5: { tasks: 2_000, tasksPerJob: 500 },
  w6: { jobs: 200 },
  startup: { repetitions: 2 },
};
