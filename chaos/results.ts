/**
 * The chaos run's results: the counts issue 21 names at the top level
 * (`serverKills`, `databaseKills`, `leaderFailovers`, `galeraNodeKills`,
 * `pauses`, `fuzzCases`, `jobs`, `lost`, `wrong`, `committedTwice`, `stuck`,
 * `crashes`, plus `seed` and `command`), the details of each phase below
 * them, the list of violated checks (the run fails when it is not empty),
 * and a short text summary.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ChaosResult } from "./run-chaos.ts";

export interface ChaosCounts {
  readonly seed: number;
  readonly command: string;
  readonly serverKills: number;
  readonly databaseKills: number;
  readonly leaderFailovers: number;
  readonly galeraNodeKills: number;
  readonly pauses: number;
  readonly fuzzCases: number;
  readonly jobs: number;
  readonly lost: number;
  readonly wrong: number;
  readonly committedTwice: number;
  readonly stuck: number;
  readonly crashes: number;
  readonly fuzzFailures: number;
  readonly deadExecutionManagers: number;
  readonly twoServing: number;
  readonly writesOutsideTerm: number;
  readonly taskExecutions: number;
  readonly repeatedExecutions: number;
  readonly longestUnavailabilityMs: number;
  readonly durationMs: number;
}

export function countsOf(result: ChaosResult): ChaosCounts {
  const s = result.single;
  const g = result.galera;
  const sum = (pick: (c: NonNullable<typeof s>["checks"]) => number) => (s ? pick(s.checks) : 0) + (g ? pick(g.checks) : 0);
  return {
    seed: result.seed,
    command: result.command,
    serverKills: s?.serverKills ?? 0,
    databaseKills: s?.databaseKills ?? 0,
    leaderFailovers: g?.leaderFailovers ?? 0,
    galeraNodeKills: g?.galeraNodeKills ?? 0,
    pauses: s?.pauses ?? 0,
    fuzzCases: result.fuzz?.cases ?? 0,
    jobs: sum((c) => c.jobs),
    lost: sum((c) => c.lost),
    wrong: sum((c) => c.wrong),
    committedTwice: sum((c) => c.committedTwice),
    stuck: sum((c) => c.stuck),
    crashes: (s?.crashes.length ?? 0) + (g?.crashes.length ?? 0) + (result.fuzz?.crashes ?? 0),
    fuzzFailures: result.fuzz?.failures ?? 0,
    deadExecutionManagers: sum((c) => c.deadExecutionManagers),
    twoServing: g?.twoServing ?? 0,
    writesOutsideTerm: g?.writesOutsideTerm ?? 0,
    taskExecutions: sum((c) => c.taskExecutions),
    repeatedExecutions: sum((c) => c.repeatedExecutions),
    longestUnavailabilityMs: Math.max(s?.longestUnavailabilityMs ?? 0, g?.longestUnavailabilityMs ?? 0),
    durationMs: result.durationMs,
  };
}

/** Every check that failed, one line each; empty when the run passed. */
export function violations(result: ChaosResult): string[] {
  const c = countsOf(result);
  const out: string[] = [];
  for (const key of ["lost", "wrong", "committedTwice", "stuck", "crashes", "fuzzFailures", "deadExecutionManagers", "twoServing", "writesOutsideTerm"] as const) {
    if (c[key] > 0) out.push(`${key}: ${c[key]}`);
  }
  if (result.single && !result.single.sessionsIncrease) out.push(`sessions do not strictly increase: ${result.single.sessions.join(" ")}`);
  if (result.galera && !result.galera.sessionsIncrease) out.push("Galera: a server's sessions do not strictly increase");
  if (result.galera && !result.galera.epochsIncrease) out.push("Galera: takeover epochs do not increase");
  for (const error of result.errors) out.push(`error: ${error.split("\n")[0]}`);
  return out;
}

export function resultsJson(result: ChaosResult): Record<string, unknown> {
  return {
    ...countsOf(result),
    violations: violations(result),
    startedAt: result.startedAt,
    phases: { oneMariaDb: result.single ?? null, galera: result.galera ?? null },
    fuzz: result.fuzz ?? null,
    errors: result.errors,
  };
}

export async function writeResults(path: string, result: ChaosResult): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(resultsJson(result), (_, v: unknown) => (typeof v === "bigint" ? String(v) : v), 2)}\n`);
}

/** A few lines for the terminal. */
export function summaryLines(result: ChaosResult): string[] {
  const c = countsOf(result);
  const s = result.single;
  const g = result.galera;
  const lines = [
    `chaos: seed ${c.seed}, ${(c.durationMs / 60_000).toFixed(1)} min — ${c.command}`,
    `faults: ${c.serverKills} server kills, ${c.databaseKills} database kills, ${c.pauses} pauses, ${c.leaderFailovers} Galera leader failovers, ${c.galeraNodeKills} Galera node kills; ${c.fuzzCases} fuzz cases`,
    `jobs: ${c.jobs} (${c.taskExecutions} task executions, ${c.repeatedExecutions} repeats); lost ${c.lost}, wrong ${c.wrong}, committed twice ${c.committedTwice}, stuck ${c.stuck}, crashes ${c.crashes}; fuzz failures ${c.fuzzFailures}; dead execution managers ${c.deadExecutionManagers}`,
  ];
  if (s) {
    lines.push(
      `one MariaDB: killed while ${JSON.stringify(s.killedWhile)}; kill → SERVING p50 ${s.killToServingMs.p50} ms, max ${s.killToServingMs.max} ms; server recovery p50 ${s.serverRecoveryMs.p50} ms, max ${s.serverRecoveryMs.max} ms; ` +
        `outage → SERVING p50 ${s.outageToServingMs.p50} ms, max ${s.outageToServingMs.max} ms; longest unavailability ${s.longestUnavailabilityMs} ms; ${s.lives} lives, sessions increase: ${s.sessionsIncrease}`,
    );
  }
  if (g) {
    lines.push(
      `Galera: takeover p50 ${g.takeoverMs.p50} ms, max ${g.takeoverMs.max} ms; node rejoin p50 ${g.nodeRejoinMs.p50} ms; longest unavailability ${g.longestUnavailabilityMs} ms; ` +
        `${g.healthSamples} health samples, two SERVING in ${g.twoServing}; ${g.takeovers} takeovers, writes outside their term ${g.writesOutsideTerm}`,
    );
  }
  if (result.fuzz) lines.push(`fuzz: ${result.fuzz.cases} cases in ${(result.fuzz.durationMs / 1000).toFixed(0)} s, ${result.fuzz.failures} failures, ${result.fuzz.crashes} crashes, max event-loop stall ${result.fuzz.maxEventLoopStallMs} ms`);
  const problems = [...(s?.checks.problems ?? []), ...(g?.checks.problems ?? []), ...(s?.notes ?? []), ...(g?.notes ?? []), ...(result.fuzz?.firstFailures ?? [])];
  for (const p of problems.slice(0, 30)) lines.push(`  ${p}`);
  const v = violations(result);
  lines.push(v.length === 0 ? "chaos: PASSED" : `chaos: FAILED — ${v.join("; ")}`);
  return lines;
}
