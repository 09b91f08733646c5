/**
 * Micro-benchmark of the strict JSON reader on the register path: the old
 * src/core/strict-json.ts (from a git revision or a file) against the working tree's,
 * in one process, alternating, on task graphs shaped as a Spider client sends
 * them. Two levels: parseStrictJson alone, and parseTaskGraphJson (what
 * RegisterJob runs on the decompressed graph: parse, then validate).
 *
 *   node bench/micro/strict-json.ts [--baseline <rev|file>] [--rounds <n>] [--batch-ms <ms>]
 *
 * `--baseline` defaults to HEAD (the committed file, to measure an uncommitted
 * change); after a commit, give the commit before it, or the path of another
 * version of the file (outside the repository) to compare with. Each round
 * times a batch of the old reader, then a batch of the new (the order swaps
 * every round); the figures are the medians over rounds of the time per
 * document. Time is the process's CPU time (process.cpuUsage: user + system,
 * every thread, so garbage collection counts), not wall-clock time, so that
 * other processes on a busy machine do not decide the figures. Both readers
 * must give the same result on every document, or the run stops.
 */
import { availableParallelism, loadavg } from "node:os";
import { isDeepStrictEqual, parseArgs } from "node:util";
import type * as StrictJson from "../../src/core/strict-json.ts";
import type * as TaskGraphModule from "../../src/core/task-graph.ts";
import { loadBaseline } from "./baseline-modules.ts";

const { values: options } = parseArgs({
  options: {
    baseline: { type: "string", default: "HEAD" },
    rounds: { type: "string", default: "11" },
    "batch-ms": { type: "string", default: "150" },
  },
});
const ROUNDS = Number(options.rounds);
const BATCH_MS = Number(options["batch-ms"]);

const U64_MAX = "18446744073709551615";

interface GraphShape {
  readonly tasks: number;
  /** The task_func text as written in the JSON (it may hold escapes). */
  readonly taskFunc: (index: number) => string;
  /** The timeout_policy numbers as written in the JSON. */
  readonly softTimeout: string;
  readonly hardTimeout: string;
}

/**
 * A graph as Spider's client serializes it: input task 0, then each task takes
 * the first output of the one or two tasks before it; explicit execution
 * policies; commit and cleanup tasks.
 */
function graphJson(shape: GraphShape): string {
  const int64 = '{"Value":{"Primitive":{"Int":"Int64"}}}';
  const policy = `{"max_num_retry":3,"max_num_instances":1,"timeout_policy":{"soft_timeout_ms":${shape.softTimeout},"hard_timeout_ms":${shape.hardTimeout}}}`;
  const tasks: string[] = [];
  for (let i = 0; i < shape.tasks; i += 1) {
    const parents = i === 0 ? [] : i === 1 ? [0] : [i - 2, i - 1];
    const sources = i === 0 ? "null" : `[${parents.map((p) => `{"task_idx":${p},"position":0}`).join(",")}]`;
    const inputs = i === 0 ? [int64] : parents.map(() => int64);
    tasks.push(
      `{"tdl_context":{"package":"bench_pkg","task_func":"${shape.taskFunc(i)}"},"execution_policy":${policy},` +
        `"inputs":[${inputs.join(",")}],"outputs":[${int64}],"input_sources":${sources}}`,
    );
  }
  const termination = (name: string): string => `{"tdl_context":{"package":"bench_pkg","task_func":"${name}"},"execution_policy":${policy}}`;
  return `{"schema_version":"0.1.0","tasks":[${tasks.join(",")}],"commit_task":${termination("commit")},"cleanup_task":${termination("cleanup")}}`;
}

interface Case {
  readonly name: string;
  /** What is special in the text, and what the register path makes of the graph. */
  readonly note: string;
  readonly text: string;
}

function cases(): Case[] {
  const result: Case[] = [];
  for (const tasks of [100, 3000]) {
    const plain = { tasks, taskFunc: (i: number) => `task_${i}`, softTimeout: "150000", hardTimeout: "300000" };
    result.push(
      { name: `plain ${tasks} tasks`, note: "short integer literals, no escapes: the control; a valid graph", text: graphJson(plain) },
      {
        name: `\\u escapes ${tasks} tasks`,
        note: "well-formed \\u escapes in every task_func; a valid graph",
        text: graphJson({ ...plain, taskFunc: (i) => `t\\u00e9che_${i}` }),
      },
      {
        name: `u64 timeouts ${tasks} tasks`,
        note: "u64 literals above 2^53 in every timeout; refused (timeout above 24 h)",
        text: graphJson({ ...plain, softTimeout: U64_MAX, hardTimeout: U64_MAX }),
      },
    );
  }
  result.push({
    name: "2^53+1 ints 3000 tasks",
    note: "2^53+1 in every timeout; refused (timeout above 24 h)",
    text: graphJson({ tasks: 3000, taskFunc: (i) => `task_${i}`, softTimeout: "9007199254740993", hardTimeout: "9007199254740993" }),
  });
  return result;
}

/** A comparable form of a reader's result: JsonNumber as its text, duplicate keys named, prototypes ignored. */
function canonical(value: StrictJson.JsonValue, module: typeof StrictJson): unknown {
  if (value instanceof module.JsonNumber) {
    return { number: value.source };
  }
  if (Array.isArray(value)) {
    return value.map((element) => canonical(element, module));
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value).map((key) => [key, canonical(value[key]!, module)]);
    return { object: entries, duplicates: module.duplicateKeysOf(value) ?? null };
  }
  return value;
}

function outcome<T>(run: () => T): { value?: T; error?: string } {
  try {
    return { value: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** CPU milliseconds this process has used since `since`. */
function cpuMs(since?: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

/** Runs `fn` until it has used `ms` of CPU; the number of calls. */
function calibrate(fn: () => void, ms: number): number {
  let calls = 0;
  const start = process.cpuUsage();
  while (cpuMs(start) < ms) {
    fn();
    calls += 1;
  }
  return calls;
}

/** CPU ms per call over `calls` calls. */
function timeBatch(fn: () => void, calls: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i += 1) {
    fn();
  }
  return cpuMs(start) / calls;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Measurement {
  readonly oldMs: number;
  readonly newMs: number;
}

/** Alternating rounds of the old and the new; medians of ms per document. */
function compare(oldFn: () => void, newFn: () => void): Measurement {
  // Warm both up (JIT) and size the batches to about BATCH_MS each.
  calibrate(oldFn, BATCH_MS);
  calibrate(newFn, BATCH_MS);
  const oldCalls = Math.max(1, calibrate(oldFn, BATCH_MS));
  const newCalls = Math.max(1, calibrate(newFn, BATCH_MS));
  const oldSamples: number[] = [];
  const newSamples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    if (round % 2 === 0) {
      oldSamples.push(timeBatch(oldFn, oldCalls));
      newSamples.push(timeBatch(newFn, newCalls));
    } else {
      newSamples.push(timeBatch(newFn, newCalls));
      oldSamples.push(timeBatch(oldFn, oldCalls));
    }
  }
  return { oldMs: median(oldSamples), newMs: median(newSamples) };
}

const baseline = loadBaseline("src/core/strict-json.ts", options.baseline);
const oldJson = await baseline.import<typeof StrictJson>("src/core/strict-json.ts");
const oldGraph = await baseline.import<typeof TaskGraphModule>("src/core/task-graph.ts");
const newJson = await import("../../src/core/strict-json.ts");
const newGraph = await import("../../src/core/task-graph.ts");

const LIMITS = { maxJsonValues: 100_000_000 };
const rows: string[][] = [];
const format = (ms: number): string => (ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const opsPerSecond = (ms: number): string => Math.round(1000 / ms).toLocaleString("en-US");

for (const { name, note, text } of cases()) {
  // Same answers from both, or the figures mean nothing.
  const oldRead = outcome(() => canonical(oldJson.parseStrictJson(text, "task graph"), oldJson));
  const newRead = outcome(() => canonical(newJson.parseStrictJson(text, "task graph"), newJson));
  if (!isDeepStrictEqual(oldRead, newRead)) {
    throw new Error(`${name}: parseStrictJson differs between the old and the new reader`);
  }
  const oldBuilt = outcome(() => JSON.stringify(oldGraph.parseTaskGraphJson(text, LIMITS)));
  const newBuilt = outcome(() => JSON.stringify(newGraph.parseTaskGraphJson(text, LIMITS)));
  if (!isDeepStrictEqual(oldBuilt, newBuilt)) {
    throw new Error(`${name}: parseTaskGraphJson differs: ${oldBuilt.error ?? "ok"} / ${newBuilt.error ?? "ok"}`);
  }
  const levels = [
    ["parseStrictJson", () => oldJson.parseStrictJson(text, "task graph"), () => newJson.parseStrictJson(text, "task graph")],
    ["parseTaskGraphJson", () => outcome(() => oldGraph.parseTaskGraphJson(text, LIMITS)), () => outcome(() => newGraph.parseTaskGraphJson(text, LIMITS))],
  ] as const;
  for (const [level, oldFn, newFn] of levels) {
    const { oldMs, newMs } = compare(oldFn, newFn);
    rows.push([
      name,
      level,
      format(oldMs),
      opsPerSecond(oldMs),
      format(newMs),
      opsPerSecond(newMs),
      `${(oldMs / newMs).toFixed(2)}×`,
    ]);
    process.stderr.write(".");
  }
  rows.push([`  (${(text.length / 1024).toFixed(0)} KiB; ${note})`, "", "", "", "", "", ""]);
}
process.stderr.write("\n");

const header = ["document", "level", "old ms/doc", "old docs/s", "new ms/doc", "new docs/s", "old/new time"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r[1] !== "").map((r) => r[i]!.length)));
const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(`old: src/core/strict-json.ts from ${baseline.source}; new: the working tree's`);
console.log(
  `node ${process.version}; ${ROUNDS} alternating rounds of ~${BATCH_MS} CPU ms per side; medians of CPU ms; ` +
    `load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} on ${availableParallelism()} CPUs`,
);
console.log(line(header));
for (const row of rows) {
  console.log(row[1] === "" ? row[0] : line(row));
}
