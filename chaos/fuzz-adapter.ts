/**
 * The chaos run's door to the fuzzer (chaos/fuzz, issue 21.3): runs
 * `runFuzz` and keeps what the results report. Loaded lazily, so the chaos
 * phases run (and `--fuzz-cases 0` works) without it.
 */
export interface FuzzSummary {
  readonly seed: number;
  readonly cases: number;
  readonly durationMs: number;
  readonly byKind: Record<string, number>;
  readonly byStatus: Record<string, number>;
  readonly failures: number;
  readonly failuresByKind: Record<string, number>;
  /** The first failures, one line each, with the seed and path that replay them. */
  readonly firstFailures: readonly string[];
  readonly crashes: number;
  readonly maxEventLoopStallMs: number;
  readonly stallLimitMs: number;
  readonly command: string;
}

export async function runFuzzCases(options: { seed: number; cases: number; databaseUrl?: string; log: (line: string) => void }): Promise<FuzzSummary> {
  const { runFuzz } = await import("./fuzz/run-fuzz.ts");
  const report = await runFuzz({ seed: options.seed, cases: options.cases, log: options.log, ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}) });
  return {
    seed: report.seed,
    cases: report.cases,
    durationMs: report.durationMs,
    byKind: report.byKind,
    byStatus: report.byStatus,
    failures: report.failureCount,
    failuresByKind: report.failuresByKind,
    firstFailures: report.failures.slice(0, 20).map((f) => `${f.kind} [seed ${f.seed} path ${f.path}] ${f.description.slice(0, 200)}: ${f.message.slice(0, 300)}`),
    crashes: report.crashes,
    maxEventLoopStallMs: report.maxEventLoopStallMs,
    stallLimitMs: report.stallLimitMs,
    command: report.command,
  };
}
