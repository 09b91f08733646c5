/**
 * Micro-benchmark of the engine's per-job statements on `jobs` (issue 20.4):
 * one file of src/db/jobs taken from another revision against the working
 * tree's, in one process, alternating, each statement run through the real
 * kysely executor and runStatement on a stand-in mysql2 pool that answers every
 * query at once with an OK packet — so the figure is the server's own CPU per
 * statement (building, compiling, the driver's path), not the database's.
 *
 *   node bench/micro/job-statements.ts --file src/db/jobs/transitionJobs.ts --baseline <rev> [--rounds 11] [--calls 4000]
 *
 * --file: src/db/jobs/transitionJob.ts (one job's fast-path move, Running →
 * Succeeded with outputs), src/db/jobs/transitionJobs.ts (a batch of 16 such
 * moves) or src/db/jobs/insertJobs.ts (a batch of 16 new jobs). Time is the
 * process's CPU time (process.cpuUsage); figures are medians over rounds of
 * CPU µs per statement.
 */
import { parseArgs } from "node:util";
import { Kysely, MysqlDialect } from "kysely";
import type { DatabaseSchema } from "../../src/db/schema.ts";
import { percentile } from "../lib/stats.ts";
import { loadBaseline } from "./baseline-modules.ts";

const { values: options } = parseArgs({
  options: {
    file: { type: "string" },
    baseline: { type: "string", default: "HEAD" },
    rounds: { type: "string", default: "11" },
    calls: { type: "string", default: "4000" },
  },
});
const SCENARIOS = ["src/db/jobs/transitionJob.ts", "src/db/jobs/transitionJobs.ts", "src/db/jobs/insertJobs.ts"];
if (!options.file || !SCENARIOS.includes(options.file)) throw new Error(`--file must be one of ${SCENARIOS.join(", ")}`);
const FILE = options.file;
const ROUNDS = Number(options.rounds);
const CALLS = Number(options.calls);
const BATCH = 16;

/** A mysql2 pool stand-in: every query answers OK (every row matched; RETURNING rows for an INSERT) on the next tick. */
function answeringPool() {
  const connection = {
    query(text: string, parameters: unknown[], callback: (error: unknown, result: unknown) => void) {
      const rows = text.startsWith("insert") ? parameters.length / 3 : text.includes(" in (") ? BATCH : 1;
      const result = text.includes("returning")
        ? Array.from({ length: rows }, (_, i) => ({ id: BigInt(i + 1) }))
        : { affectedRows: rows, changedRows: rows, insertId: 0, fieldCount: 0, info: "", serverStatus: 2, warningStatus: 0 };
      process.nextTick(callback, null, result);
    },
    release() {},
  };
  return { getConnection: (callback: (error: unknown, c: unknown) => void) => callback(null, connection), end: (callback: () => void) => callback() };
}
const db = new Kysely<DatabaseSchema>({ dialect: new MysqlDialect({ pool: answeringPool() as never }) });

type Run = (i: number) => Promise<unknown>;
const outputs = new Uint8Array(124).fill(7);
const blob = new Uint8Array(100).fill(1);

async function scenario(module: Record<string, unknown>): Promise<Run> {
  if (FILE.endsWith("transitionJob.ts")) {
    const transitionJob = module["transitionJob"] as typeof import("../../src/db/jobs/transitionJob.ts").transitionJob;
    return (i) => transitionJob(db, BigInt(i + 1), { to: "Succeeded", outputs, expectFrom: ["Running"] });
  }
  if (FILE.endsWith("transitionJobs.ts")) {
    const transitionJobs = module["transitionJobs"] as typeof import("../../src/db/jobs/transitionJobs.ts").transitionJobs;
    return (i) => transitionJobs(db, "Running", "Succeeded", Array.from({ length: BATCH }, (_, k) => ({ jobId: BigInt(i * BATCH + k + 1), outputs })));
  }
  const insertJobs = module["insertJobs"] as typeof import("../../src/db/jobs/insertJobs.ts").insertJobs;
  return () => insertJobs(db, Array.from({ length: BATCH }, () => ({ resourceGroupId: 1n, compressedTaskGraph: blob, compressedInputs: blob })));
}

const baseline = loadBaseline(FILE, options.baseline);
const sides = {
  old: await scenario(await baseline.import<Record<string, unknown>>(FILE)),
  new: await scenario((await import(`../../${FILE}`)) as Record<string, unknown>),
};

async function batch(run: Run): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await run(i);
  const { user, system } = process.cpuUsage(start);
  return (user + system) / CALLS;
}

await batch(sides.old);
await batch(sides.new);
const times: Record<"old" | "new", number[]> = { old: [], new: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order: ("old" | "new")[] = round % 2 === 0 ? ["old", "new"] : ["new", "old"];
  for (const side of order) times[side].push(await batch(sides[side]));
}
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const oldUs = median(times.old);
const newUs = median(times.new);
console.log(
  JSON.stringify({ file: FILE, baseline: baseline.source, callsPerRound: CALLS, rounds: ROUNDS, oldCpuUsPerStatement: +oldUs.toFixed(1), newCpuUsPerStatement: +newUs.toFixed(1), ratio: +(newUs / oldUs).toFixed(3) }),
);
