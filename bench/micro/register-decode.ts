/**
 * Micro-benchmark of RegisterJob's decode on a W1 job (issue 20's request-path
 * pass): validateJobSubmissionAsync — graph hash and cache lookup, inputs
 * decompressed and split — with one source file of ours taken from another
 * revision (src/core/zstd.ts: small frames decoded on the event loop;
 * src/core/task-graph-cache.ts: small graphs hashed on it), against the working
 * tree's, in one process, alternating.
 *
 *   node bench/micro/register-decode.ts --file src/core/zstd.ts --baseline <rev> [--rounds 11] [--calls 2000]
 *
 * Time is the process's CPU time over every thread (process.cpuUsage), so work
 * moved to libuv's thread pool still counts; figures are medians over rounds
 * of CPU µs per call.
 */
import { parseArgs } from "node:util";
import type * as JobSubmission from "../../src/core/job-submission.ts";
import type * as GraphCache from "../../src/core/task-graph-cache.ts";
import { w1Graph, w1Inputs } from "../workloads/w1-job.ts";
import { percentile } from "../lib/stats.ts";
import { loadBaseline } from "./baseline-modules.ts";

const { values: options } = parseArgs({
  options: {
    file: { type: "string" },
    baseline: { type: "string", default: "HEAD" },
    rounds: { type: "string", default: "11" },
    calls: { type: "string", default: "2000" },
  },
});
if (!options.file) throw new Error("--file src/core/… is required");
const ROUNDS = Number(options.rounds);
const CALLS = Number(options.calls);

const baseline = loadBaseline(options.file, options.baseline);
const sides = {
  old: {
    submission: await baseline.import<typeof JobSubmission>("src/core/job-submission.ts"),
    cache: await baseline.import<typeof GraphCache>("src/core/task-graph-cache.ts"),
  },
  new: {
    submission: await import("../../src/core/job-submission.ts"),
    cache: await import("../../src/core/task-graph-cache.ts"),
  },
};

const graph = w1Graph();
const inputs = Array.from({ length: 64 }, (_, i) => w1Inputs(i));

async function batch(side: keyof typeof sides): Promise<number> {
  const { submission, cache } = sides[side];
  const graphs = new cache.TaskGraphCache();
  await submission.validateJobSubmissionAsync(graph, inputs[0]!, submission.DEFAULT_SUBMISSION_LIMITS, graphs); // the graph cached, as when serving
  const start = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await submission.validateJobSubmissionAsync(graph, inputs[i % inputs.length]!, submission.DEFAULT_SUBMISSION_LIMITS, graphs);
  const { user, system } = process.cpuUsage(start);
  return (user + system) / CALLS;
}

const times: Record<"old" | "new", number[]> = { old: [], new: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order: ("old" | "new")[] = round % 2 === 0 ? ["old", "new"] : ["new", "old"];
  for (const side of order) times[side].push(await batch(side));
}
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const oldUs = median(times.old);
const newUs = median(times.new);
console.log(
  JSON.stringify({ file: options.file, baseline: baseline.source, callsPerRound: CALLS, rounds: ROUNDS, oldCpuUsPerCall: +oldUs.toFixed(1), newCpuUsPerCall: +newUs.toFixed(1), ratio: +(newUs / oldUs).toFixed(3) }),
);
