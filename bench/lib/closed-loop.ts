/**
 * The closed-loop driver every W1 system shares (spider-storage and each peer):
 * `concurrency` submitters, each submits one job, waits until its completion
 * is observed, and submits the next, until `total` jobs are done or
 * `timeLimitMs` passes (then no new job starts; those in flight finish, each
 * bounded by `jobTimeoutMs`). A job's latency runs from just before its
 * enqueue call to the moment its completion is observed. Throughput is
 * completed jobs over the time from the first enqueue to the last completion.
 */
import { now, summarizeLatencies, round, type LatencySummary } from "./stats.ts";

export interface ClosedLoopOptions {
  readonly total: number;
  readonly concurrency: number;
  readonly timeLimitMs: number;
  readonly jobTimeoutMs?: number;
}

export interface ClosedLoopResult {
  readonly completed: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly jobsPerSecond: number;
  readonly latency: LatencySummary;
  readonly stoppedBy: "count" | "time";
  readonly firstError?: string;
}

export async function closedLoop(options: ClosedLoopOptions, runJob: (index: number) => Promise<void>): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  let lastCompletion = 0;
  const start = now();
  const deadline = start + options.timeLimitMs;
  let stoppedBy: "count" | "time" = "count";
  const jobTimeoutMs = options.jobTimeoutMs ?? 30_000;

  const submitter = async () => {
    for (;;) {
      if (next >= options.total) return;
      if (now() > deadline) {
        stoppedBy = "time";
        return;
      }
      const index = next++;
      const t0 = now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          runJob(index),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`job ${index} not completed within ${jobTimeoutMs} ms`)), jobTimeoutMs);
          }),
        ]);
        const t1 = now();
        latencies.push(t1 - t0);
        lastCompletion = Math.max(lastCompletion, t1);
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
        // A system that fails jobs gets no more of them: a run of errors must stop the workload.
        if (failed > Math.max(10, options.total / 100)) {
          next = options.total;
        }
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, submitter));
  const elapsedMs = (lastCompletion || now()) - start;
  return {
    completed: latencies.length,
    failed,
    elapsedMs: round(elapsedMs),
    jobsPerSecond: round(latencies.length / (elapsedMs / 1000), 1),
    latency: summarizeLatencies(latencies),
    stoppedBy,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** Resolvers keyed by job, fed by whatever observes completions (an event, a wrapped report call). */
export class CompletionWaiters<K> {
  readonly #waiters = new Map<K, () => void>();
  readonly #early = new Set<K>();

  wait(key: K): Promise<void> {
    if (this.#early.delete(key)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.set(key, resolve));
  }

  complete(key: K): void {
    const resolve = this.#waiters.get(key);
    if (resolve) {
      this.#waiters.delete(key);
      resolve();
    } else {
      // Completion seen before the submitter asked (possible when the key is known before enqueue returns).
      this.#early.add(key);
    }
  }

  get pending(): number {
    return this.#waiters.size;
  }
}
