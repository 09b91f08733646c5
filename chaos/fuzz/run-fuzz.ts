/**
 * `runFuzz`: a seeded, replayable fuzz of the storage protocol (issue 21.3)
 * against a real server process over gRPC on loopback. fast-check draws the
 * cases from the seed; the property never fails (every problem is recorded
 * and the run goes on), so case N is the Nth run and `{ seed, path: "N" }`
 * replays it (`replayFuzzCase`). Stops early only if the server exits.
 *
 * ```ts
 * const report = await runFuzz({ seed: 42, cases: 10_000, log: console.error });
 * report.failures.length === 0 && report.crashes === 0 && report.maxEventLoopStallMs <= 100;
 * ```
 */
import fc from "fast-check";
import { CaseRunner } from "./case-runner.ts";
import type { CaseKind, FuzzFailure } from "./fuzz-case.ts";
import { fuzzCase } from "./fuzz-cases.ts";
import { FuzzEnvironment } from "./fuzz-environment.ts";
import { StallMonitor, type StallWindow } from "./stall-monitor.ts";

export interface FuzzOptions {
  /** Default: a random seed (printed in the report). */
  readonly seed?: number;
  readonly cases: number;
  /** MariaDB to use (see FuzzEnvironmentOptions); default: a private mariadbd. */
  readonly databaseUrl?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Relative weights of the case kinds. */
  readonly weights?: Partial<Record<CaseKind, number>>;
  /** The stall the report judges against (default 100 ms). */
  readonly stallLimitMs?: number;
  /** Requests per state snapshot (default 25). */
  readonly batchSize?: number;
  readonly echoServerLogs?: boolean;
}

export interface FuzzReport {
  readonly seed: number;
  /** Cases run (fewer than asked only after a crash). */
  readonly cases: number;
  readonly durationMs: number;
  readonly byKind: Record<string, number>;
  /** Statuses of the single-request cases. */
  readonly byStatus: Record<string, number>;
  /** Requests sent by single-request cases, and calls made by hostile-order scenarios. */
  readonly requests: number;
  readonly hostileOrderCalls: number;
  /** Cases not judged: they named a row an earlier case made (their answer depends on its history). */
  readonly undetermined: number;
  readonly snapshots: number;
  /** Every failure, counted by kind; the first 200 in full, each with its seed and path. */
  readonly failureCount: number;
  readonly failuresByKind: Record<string, number>;
  readonly failures: readonly FuzzFailure[];
  /** 1 if the server process exited (the run stops there). */
  readonly crashes: number;
  /** The server's largest event-loop delay while fuzzed (prom-client's nodejs_eventloop_lag_max_seconds). */
  readonly maxEventLoopStallMs: number;
  readonly stallLimitMs: number;
  /** Scrape windows whose delay exceeded the limit, with the cases that ran in them. */
  readonly stalls: readonly StallWindow[];
  /** The server's garbage collections longer than 100 ms (a stall no request caused alone). */
  readonly gcPausesOver100ms: number;
  /** The slowest GetSession seen from outside while fuzzing (includes this process's own delays). */
  readonly maxProbeMs: number;
  readonly probes: number;
  /** How to run it again. */
  readonly command: string;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const log = options.log ?? (() => undefined);
  const stallLimitMs = options.stallLimitMs ?? 100;
  log(`fuzz: seed ${seed}, ${options.cases} cases`);
  const started = performance.now();
  const env = await FuzzEnvironment.start({
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    ...(options.echoServerLogs === undefined ? {} : { echoServerLogs: options.echoServerLogs }),
  });
  const runner = new CaseRunner(env, { seed, ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }) });
  const monitor = new StallMonitor({ metricsUrl: env.metricsUrl, sessions: env.clients.sessions });
  let ran = 0;
  try {
    await monitor.start();
    const progressEvery = Math.max(100, Math.floor(options.cases / 20));
    await fc.assert(
      fc.asyncProperty(fuzzCase(options.weights), async (c) => {
        const index = ran;
        ran += 1;
        if (runner.crashed) return true;
        monitor.noteCase(index);
        await runner.run(c, String(index));
        if (ran % progressEvery === 0) {
          log(`fuzz: ${ran}/${options.cases} cases, ${runner.failureCount} failures, max stall ${monitor.maxLagMs.toFixed(1)} ms, ${((performance.now() - started) / 1000).toFixed(0)} s`);
        }
        return true;
      }),
      { seed, numRuns: options.cases },
    );
    await runner.closeBatch();
  } finally {
    await monitor.stop().catch(() => undefined);
    await env.close();
  }
  const cases = runner.crashed ? Object.values(runner.byKind).reduce((a, b) => a + b, 0) : ran;
  const report: FuzzReport = {
    seed,
    cases,
    durationMs: Math.round(performance.now() - started),
    byKind: runner.byKind,
    byStatus: runner.byStatus,
    requests: runner.requests,
    hostileOrderCalls: runner.hostileOrderCalls,
    undetermined: runner.undetermined,
    snapshots: runner.snapshots,
    failureCount: runner.failureCount,
    failuresByKind: runner.failuresByKind,
    failures: runner.failures,
    crashes: runner.crashed ? 1 : 0,
    maxEventLoopStallMs: Math.round(monitor.maxLagMs * 10) / 10,
    stallLimitMs,
    stalls: monitor.over(stallLimitMs),
    gcPausesOver100ms: monitor.gcOver100ms,
    maxProbeMs: Math.round(monitor.maxProbeMs * 10) / 10,
    probes: monitor.probes,
    command: `node chaos/fuzz/main.ts --seed ${seed} --cases ${options.cases}`,
  };
  log(`fuzz: done in ${(report.durationMs / 1000).toFixed(1)} s: ${report.failureCount} failures, ${report.crashes} crashes, max stall ${report.maxEventLoopStallMs} ms`);
  return report;
}

export interface ReplayOptions {
  readonly seed: number;
  /** The failing case's path (its index in the run), as reported. */
  readonly path: string;
  readonly databaseUrl?: string;
  readonly weights?: Partial<Record<CaseKind, number>>;
  /** Let fast-check shrink the case to a smaller one that fails too (default false). */
  readonly shrink?: boolean;
}

/**
 * Runs case `path` of run `seed` again on a fresh server, with a snapshot
 * around it, and returns its failures (none: it passes now). With `shrink`,
 * fast-check's counterexample (the smallest failing case) is in `shrunk`.
 */
export async function replayFuzzCase(options: ReplayOptions): Promise<{ failures: FuzzFailure[]; shrunk?: string }> {
  const env = await FuzzEnvironment.start(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl });
  const runner = new CaseRunner(env, { seed: options.seed, strict: true });
  let first: FuzzFailure[] | undefined;
  try {
    const result = await fc.check(
      fc.asyncProperty(fuzzCase(options.weights), async (c) => {
        const failures = await runner.run(c, options.path);
        first ??= failures;
        return failures.length === 0;
      }),
      { seed: options.seed, path: options.path, numRuns: 1, endOnFailure: !(options.shrink ?? false) },
    );
    const shrunk = result.failed && options.shrink ? fc.stringify(result.counterexample) : undefined;
    return { failures: first ?? [], ...(shrunk === undefined ? {} : { shrunk }) };
  } finally {
    await env.close();
  }
}
