/**
 * The chaos run of issue 21 in its CI size (chaos/options.ts SMOKE_SIZE): on
 * a private MariaDB, 4 SIGKILLs of the server (while serving, at start-up,
 * during recovery, mid-checkpoint-flush), one of MariaDB, a pause of each
 * (SIGSTOP past the lease TTL and the statement timeout), under the mixed
 * workload (DAGs, commit and cleanup tasks, retries, doomed jobs, cancels in
 * every state, non-deterministic tasks); 200 fuzz cases; then on a 3-node
 * Galera cluster one leader SIGKILL and one SIGKILL of the leader's node.
 * Asserts what the full run asserts: nothing lost, wrong, committed twice or
 * stuck, no crash, no execution manager declared dead, sessions increasing,
 * never two SERVING.
 *
 * SPIDER_CHAOS_SEED replays a run (`npm run chaos -- --smoke --seed S` does
 * the same from the command line).
 */
import { describe, expect, it } from "vitest";
import { parseChaosArgs } from "../../chaos/options.ts";
import { countsOf, summaryLines, violations } from "../../chaos/results.ts";
import { runChaos } from "../../chaos/run-chaos.ts";

const seedArgs = process.env["SPIDER_CHAOS_SEED"] ? ["--seed", process.env["SPIDER_CHAOS_SEED"]] : [];

describe("chaos (smoke size)", () => {
  it("server, database and Galera faults under load, and a short fuzz: nothing lost, wrong, committed twice or stuck; no crash", { timeout: 180_000 }, async () => {
    const options = parseChaosArgs(["--smoke", "--no-out", ...seedArgs], (line) => console.log(line));
    const result = await runChaos(options);
    for (const line of summaryLines(result)) console.log(line);
    const counts = countsOf(result);
    expect(result.errors).toEqual([]);
    expect(violations(result)).toEqual([]);
    expect({ lost: counts.lost, wrong: counts.wrong, committedTwice: counts.committedTwice, stuck: counts.stuck, crashes: counts.crashes }).toEqual({
      lost: 0,
      wrong: 0,
      committedTwice: 0,
      stuck: 0,
      crashes: 0,
    });
    // The faults really fired.
    expect(counts.serverKills).toBeGreaterThanOrEqual(4);
    expect(counts.databaseKills).toBeGreaterThanOrEqual(1);
    expect(counts.pauses).toBeGreaterThanOrEqual(2);
    expect(counts.leaderFailovers).toBeGreaterThanOrEqual(1);
    expect(counts.fuzzCases).toBe(200);
    expect(counts.jobs).toBeGreaterThan(30);
  });
});
