/**
 * The two drivers of W1 (issue 20), shared by spider-storage and every peer:
 *
 * - **capacity** (open loop): producers in their own processes enqueue as fast
 *   as the system accepts — each producer keeps `concurrency` enqueue calls in
 *   flight and never waits for a completion — while the workers complete the
 *   jobs. `ProducerGroup` spawns them, lets them connect, starts them all at
 *   once ("go"), collects their reports, and keeps them alive (connected,
 *   idle) until their CPU use has been read from /proc, then tells them to
 *   exit. `runProducer` is the producer's side of that protocol.
 * - **latency** (`pacedLoop`): the closed loop's per-job measurement kept —
 *   from just before the enqueue call to the durable completion observed — but
 *   jobs are offered at a fixed rate (half the measured capacity), at most
 *   `maxInFlight` at once (the old closed loop's 32 submitters), so the figure
 *   is a latency at a known load rather than a rate.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { now, round, summarizeLatencies, type LatencySummary } from "./stats.ts";

export interface PacedOptions {
  readonly ratePerSecond: number;
  readonly total: number;
  readonly maxInFlight: number;
  readonly timeLimitMs: number;
  readonly jobTimeoutMs?: number;
}

export interface PacedResult {
  readonly offeredPerSecond: number;
  readonly achievedPerSecond: number;
  readonly offered: number;
  readonly completed: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly latency: LatencySummary;
  /** Jobs that started more than 5 ms after their due time because `maxInFlight` were already in flight (the system fell behind the offered rate). */
  readonly lateStarts: number;
  readonly firstError?: string;
}

export async function pacedLoop(options: PacedOptions, runJob: (index: number) => Promise<void>): Promise<PacedResult> {
  const interval = 1000 / options.ratePerSecond;
  const jobTimeoutMs = options.jobTimeoutMs ?? 30_000;
  const latencies: number[] = [];
  const inflight = new Set<Promise<void>>();
  let failed = 0;
  let lateStarts = 0;
  let firstError: string | undefined;
  let lastCompletion = 0;
  const start = now();
  let i = 0;
  for (; i < options.total && now() - start < options.timeLimitMs; i++) {
    const due = start + i * interval;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    while (inflight.size >= options.maxInFlight) await Promise.race(inflight);
    if (now() - due > 5) lateStarts++;
    const index = i;
    const t0 = now();
    let timer: NodeJS.Timeout | undefined;
    const job = Promise.race([
      runJob(index),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`job ${index} not completed within ${jobTimeoutMs} ms`)), jobTimeoutMs);
      }),
    ])
      .then(
        () => {
          const t1 = now();
          latencies.push(t1 - t0);
          lastCompletion = Math.max(lastCompletion, t1);
        },
        (error: Error) => {
          failed++;
          firstError ??= error.message;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        inflight.delete(job);
      });
    inflight.add(job);
    if (failed > Math.max(10, options.total / 100)) break;
  }
  await Promise.all(inflight);
  const elapsedMs = (lastCompletion || now()) - start;
  return {
    offeredPerSecond: round(options.ratePerSecond, 1),
    achievedPerSecond: round(latencies.length / (elapsedMs / 1000), 1),
    offered: i,
    completed: latencies.length,
    failed,
    elapsedMs: round(elapsedMs),
    latency: summarizeLatencies(latencies),
    lateStarts,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** What a producer process reports when it has enqueued its share. */
export interface ProducerReport {
  readonly produced: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly enqueuePerSecond: number;
  /** Round trip of one enqueue call, as the producer saw it. */
  readonly enqueueLatency: LatencySummary;
  /** A few job keys, for checking afterwards that they completed. */
  readonly sampleKeys: readonly string[];
  readonly firstError?: string;
}

/**
 * The producer's side: prints "ready", waits for "go" on stdin, enqueues
 * indexes [from, from + count) with `concurrency` calls in flight, prints its
 * report as one JSON line, then waits for "exit" (so its CPU can still be read)
 * and calls `close`.
 */
export async function runProducer(options: { from: number; count: number; concurrency: number }, enqueue: (index: number) => Promise<string | void>, close: () => Promise<void>): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const waitFor = (word: string) =>
    new Promise<void>((resolve) => {
      const onLine = (line: string) => {
        if (line.trim() === word) {
          lines.off("line", onLine);
          resolve();
        }
      };
      lines.on("line", onLine);
      lines.once("close", () => resolve());
    });
  const go = waitFor("go");
  process.stdout.write("ready\n");
  await go;
  const latencies: number[] = [];
  const sampleKeys: string[] = [];
  const sampleEvery = Math.max(1, Math.floor(options.count / 50));
  let next = options.from;
  const end = options.from + options.count;
  let failed = 0;
  let firstError: string | undefined;
  const start = now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < end) {
        const index = next++;
        const t0 = now();
        try {
          const key = await enqueue(index);
          latencies.push(now() - t0);
          if ((index - options.from) % sampleEvery === 0 && key !== undefined) sampleKeys.push(key);
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
          if (failed > Math.max(10, options.count / 100)) next = end;
        }
      }
    }),
  );
  const elapsedMs = now() - start;
  const report: ProducerReport = {
    produced: latencies.length,
    failed,
    elapsedMs: round(elapsedMs),
    enqueuePerSecond: round(latencies.length / (elapsedMs / 1000), 1),
    enqueueLatency: summarizeLatencies(latencies),
    sampleKeys,
    ...(firstError !== undefined ? { firstError } : {}),
  };
  const exit = waitFor("exit");
  process.stdout.write(JSON.stringify(report) + "\n");
  await exit;
  lines.close();
  await close();
  process.exit(0);
}

/** The coordinator's side: producer processes started, connected and waiting for "go". */
export class ProducerGroup {
  readonly #children: ChildProcess[];
  readonly #reports: Promise<ProducerReport>[];
  readonly #ready: Promise<void>[];

  private constructor(children: ChildProcess[]) {
    this.#children = children;
    this.#ready = [];
    this.#reports = [];
    for (const child of children) {
      let stderr = "";
      child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
      const lines = createInterface({ input: child.stdout! });
      let resolveReady!: () => void;
      let rejectReady!: (error: Error) => void;
      this.#ready.push(new Promise((resolve, reject) => ((resolveReady = resolve), (rejectReady = reject))));
      this.#reports.push(
        new Promise((resolve, reject) => {
          lines.on("line", (line) => {
            if (line === "ready") resolveReady();
            else if (line.startsWith("{")) resolve(JSON.parse(line) as ProducerReport);
          });
          child.once("exit", (code) => {
            const error = new Error(`producer exited with ${code}: ${stderr}`);
            rejectReady(error);
            reject(error);
          });
        }),
      );
      // A report that never comes is caught by whoever awaits it; keep Node quiet meanwhile.
      this.#reports.at(-1)!.catch(() => undefined);
      this.#ready.at(-1)!.catch(() => undefined);
    }
  }

  /** Spawns `node <script> ...args[i]` for each producer; resolves once every one says "ready". */
  static async start(script: string, argsPerProducer: readonly (readonly string[])[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<ProducerGroup> {
    const children = argsPerProducer.map((args) => spawn(process.execPath, [script, ...args], { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] }));
    const group = new ProducerGroup(children);
    const timeout = sleep(options.timeoutMs ?? 60_000).then(() => {
      throw new Error("producers not ready in time");
    });
    try {
      await Promise.race([Promise.all(group.#ready), timeout]);
    } catch (error) {
      group.kill();
      throw error;
    }
    return group;
  }

  get pids(): number[] {
    return this.#children.map((child) => child.pid!).filter((pid) => pid !== undefined);
  }

  /** Starts every producer at once; returns the moment (this process's clock). */
  go(): number {
    const at = now();
    for (const child of this.#children) child.stdin!.write("go\n");
    return at;
  }

  /** Every producer's report (each has enqueued its share). */
  reports(): Promise<ProducerReport[]> {
    return Promise.all(this.#reports);
  }

  /** Tells the producers to close their connections and exit; SIGKILL after `timeoutMs`. */
  async exit(timeoutMs = 10_000): Promise<void> {
    await Promise.all(
      this.#children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            child.stdin!.end("exit\n");
          }),
      ),
    );
  }

  kill(): void {
    for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** Splits `total` jobs over `producers` producers: [from, count] each. */
export function shares(total: number, producers: number): { from: number; count: number }[] {
  const base = Math.floor(total / producers);
  return Array.from({ length: producers }, (_, p) => ({ from: p * base, count: p === producers - 1 ? total - p * base : base }));
}
