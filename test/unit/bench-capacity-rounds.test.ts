/**
 * The bench's W1 capacity comparison over interleaved rounds (bench/lib/report.ts):
 * spider-storage and a peer are compared on their means when both ran every
 * round, and on their first runs otherwise — never a mean against a single run.
 */
import { describe, expect, it } from "vitest";
import { capacityPair, type Results, type W1Rounds } from "../../bench/lib/report.ts";

function results(w1Rounds: W1Rounds | undefined): Results {
  return { meta: {}, ceilings: {}, peers: {}, workloads: {}, ...(w1Rounds ? { w1Rounds } : {}) };
}
const round = (n: number, jobsPerSecond: number) => ({ round: n, jobsPerSecond, cpuMsPerJob: {} });

describe("W1 capacity over interleaved rounds", () => {
  it("compares the means when both systems ran every round", () => {
    const r = results({ "spider-storage": [round(1, 900), round(2, 700)], "graphile-worker": [round(1, 760), round(2, 720)] });
    expect(capacityPair(r, "graphile-worker", 900, 760)).toEqual({ ours: 800, theirs: 740 });
  });

  it("compares the first runs when the peer's second round is missing", () => {
    const r = results({ "spider-storage": [round(1, 900), round(2, 700)], "graphile-worker": [round(1, 760)] });
    expect(capacityPair(r, "graphile-worker", 900, 760)).toEqual({ ours: 900, theirs: 760 });
  });

  it("compares the first runs when spider-storage's second round is missing", () => {
    const r = results({ "spider-storage": [round(1, 900)], "graphile-worker": [round(1, 760), round(2, 720)] });
    expect(capacityPair(r, "graphile-worker", 900, 760)).toEqual({ ours: 900, theirs: 760 });
  });

  it("compares the single runs when the profile runs one round", () => {
    expect(capacityPair(results(undefined), "pg-boss", 900, 600)).toEqual({ ours: 900, theirs: 600 });
  });
});
