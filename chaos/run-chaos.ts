/**
 * `runChaos(options)`: the whole chaos run of issue 21 — phase "one MariaDB"
 * (server kills, database kills, pauses), the fuzz against a fresh database
 * on the same MariaDB, then phase "Galera" (leader and node kills) — and the
 * counts the results report. Every process it starts is ended before it
 * returns, on failure too. `npm run chaos` (chaos/run.ts) and the CI smoke
 * test (test/chaos/chaos-smoke.test.ts) call it.
 */
import { startMariaDb, type PrivateMariaDb } from "../testkit/mariadb.ts";
import { runFuzzCases, type FuzzSummary } from "./fuzz-adapter.ts";
import { runGaleraPhase, type GaleraResult } from "./galera-phase.ts";
import type { ChaosOptions } from "./options.ts";
import { runSingleServerPhase, type SingleServerResult } from "./single-server-phase.ts";

export interface ChaosResult {
  readonly seed: number;
  readonly command: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly single: SingleServerResult | undefined;
  readonly galera: GaleraResult | undefined;
  readonly fuzz: FuzzSummary | undefined;
  /** A phase that could not run to its checks (its error). */
  readonly errors: readonly string[];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const deadline = started + options.maxMinutes * 60_000;
  const log = options.log;
  const errors: string[] = [];
  log(`chaos: seed ${options.seed} — replay with: ${options.command}`);
  let single: SingleServerResult | undefined;
  let fuzz: FuzzSummary | undefined;
  let galera: GaleraResult | undefined;

  const wantsSingle = options.serverKills + options.databaseKills + options.pauses > 0;
  const wantsGalera = options.leaderFailovers + options.galeraNodeKills > 0;
  // Budget: the Galera phase and the fuzz get their share of the time left (the fuzz runs ~50 cases/s here).
  const fuzzShareMs = options.fuzzCases * 25;
  const galeraShareMs = wantsGalera ? 60_000 + 10_000 * (options.leaderFailovers + options.galeraNodeKills) : 0;

  if (wantsSingle || options.fuzzCases > 0) {
    let mariadb: PrivateMariaDb | undefined;
    try {
      mariadb = await startMariaDb({ durable: true });
      if (wantsSingle) {
        try {
          single = await runSingleServerPhase(options, mariadb, deadline - fuzzShareMs - galeraShareMs - 30_000);
        } catch (error) {
          errors.push(`phase one MariaDB: ${(error as Error).stack ?? String(error)}`);
          log(`chaos: phase one MariaDB failed: ${(error as Error).message}`);
        }
      }
      if (options.fuzzCases > 0) {
        try {
          fuzz = await runFuzzCases({ seed: options.seed, cases: options.fuzzCases, databaseUrl: mariadb.serverUrl, log });
        } catch (error) {
          errors.push(`fuzz: ${(error as Error).stack ?? String(error)}`);
          log(`chaos: the fuzz failed: ${(error as Error).message}`);
        }
      }
    } finally {
      await mariadb?.destroy().catch(() => undefined);
    }
  }
  if (wantsGalera) {
    try {
      galera = await runGaleraPhase(options, deadline - 30_000);
    } catch (error) {
      errors.push(`phase Galera: ${(error as Error).stack ?? String(error)}`);
      log(`chaos: phase Galera failed: ${(error as Error).message}`);
    }
  }
  return { seed: options.seed, command: options.command, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, single, galera, fuzz, errors };
}
