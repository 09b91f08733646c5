/**
 * Structure-aware RegisterJob requests: a valid submission (a job shape of
 * testkit/sim/job-shapes.ts) with one mutation of its task graph JSON, of its
 * inputs' wire frame, or of one of its zstd streams — each mutation with the
 * status D5 names for it, written out here (never derived from the server's
 * own validator):
 *
 * - task graph: missing / extra / duplicate fields at each level (top-level
 *   unknown fields are refused, nested unknown members ignored, as serde
 *   does), wrong types, numbers out of range or not integers, deep nesting,
 *   cycles (forward and self references), dangling sources, type
 *   mismatches, unicode names, lone surrogates, invalid UTF-8, empty graphs,
 *   trailing garbage, over the task and JSON-value limits;
 * - inputs frame: truncated, a count or a length that lies, trailing bytes
 *   (ignored, as Spider ignores them), empty;
 * - zstd: truncated, wrong magic, many empty or skippable frames (up to the
 *   frame cap accepted, beyond it refused), a declared size above the budget,
 *   bombs with and without a declared size, several frames (accepted), not
 *   compressed at all.
 *
 * An accepted submission under an unknown resource group is UNAUTHENTICATED;
 * a refused one is INVALID_ARGUMENT whatever the group (the submission is
 * checked first).
 */
import { createZstdCompress } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";
import { compressZstd } from "../../src/core/zstd.ts";
import { RegisterJobRequestSchema } from "../../src/gen/storage/storage_pb.ts";
import { INT64 } from "../../testkit/task-graph-builder.ts";
import { diamond, flat, singleTask, wide, type JobSpec } from "../../testkit/sim/job-shapes.ts";
import { expect, type BuiltRequest, type Expectation } from "./fuzz-case.ts";
import type { FuzzWorld } from "./fuzz-environment.ts";
import { concat } from "./message-field-cases.ts";

const { OK, INVALID_ARGUMENT, UNAUTHENTICATED } = grpc.status;
const encoder = new TextEncoder();

export type Shape = "single" | "diamond" | "wide" | "flat";

export interface BaseJob {
  readonly shape: Shape;
  readonly commit: boolean;
  readonly cleanup: boolean;
  readonly seed: number;
}

export const baseJob: fc.Arbitrary<BaseJob> = fc.record({
  shape: fc.constantFrom<Shape>("single", "diamond", "wide", "flat"),
  commit: fc.boolean(),
  cleanup: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

export function jobOf(base: BaseJob): JobSpec {
  const options = { commit: base.commit, cleanup: base.cleanup, seed: base.seed };
  switch (base.shape) {
    case "single":
      return singleTask(options);
    case "diamond":
      return diamond(options);
    case "wide":
      return wide(3, options);
    case "flat":
      return flat(3, options);
  }
}

// ---------------------------------------------------------------------------
// Task graph mutations

export type GraphMutation =
  | { readonly m: "none" }
  | { readonly m: "drop-top-level"; readonly field: "schema_version" | "tasks" | "commit_task" | "cleanup_task" }
  | { readonly m: "extra-top-level"; readonly name: string }
  | { readonly m: "extra-nested"; readonly where: "task" | "tdl_context" | "execution_policy" | "source"; readonly name: string }
  | { readonly m: "duplicate-top-level"; readonly field: "schema_version" | "tasks" | "commit_task" | "cleanup_task" }
  | { readonly m: "duplicate-known-member"; readonly field: "package" | "task_func" }
  | { readonly m: "duplicate-unknown-member" }
  | { readonly m: "drop-task-field"; readonly field: "tdl_context" | "inputs" | "outputs" }
  | { readonly m: "drop-tdl-field"; readonly field: "package" | "task_func" }
  | { readonly m: "drop-execution-policy" }
  | { readonly m: "wrong-type"; readonly at: WrongTypeTarget; readonly value: string }
  | { readonly m: "number"; readonly at: NumberTarget; readonly raw: string; readonly valid: boolean }
  | { readonly m: "deep-nesting"; readonly depth: number }
  | { readonly m: "forward-reference"; readonly self: boolean }
  | { readonly m: "dangling-source"; readonly by: "task" | "position"; readonly beyond: number }
  | { readonly m: "type-mismatch" }
  | { readonly m: "unicode-names"; readonly package: string; readonly taskFunc: string }
  | { readonly m: "lone-surrogate"; readonly escape: string }
  | { readonly m: "invalid-utf8" }
  | { readonly m: "empty-tasks" }
  | { readonly m: "trailing"; readonly text: string; readonly valid: boolean }
  | { readonly m: "schema-version"; readonly value: string }
  | { readonly m: "struct-as-array" }
  | { readonly m: "too-many-tasks" }
  | { readonly m: "too-many-values" }
  | { readonly m: "not-an-object"; readonly text: string };

type WrongTypeTarget = "schema_version" | "tasks" | "task" | "package" | "task_func" | "inputs" | "outputs" | "input_sources" | "commit_task" | "type";
type NumberTarget = "max_num_retry" | "max_num_instances" | "soft_timeout_ms" | "hard_timeout_ms" | "task_idx" | "position";

const WRONG_VALUES = ["0", "1.5", "\"text\"", "true", "[]", "{}", "[1,2]", "{\"a\":1}"];

/** Numbers per field, with whether the graph stays valid (u32 retries/instances, u64 indices, timeouts 100..86 400 000, hard > soft). */
const NUMBERS: Record<NumberTarget, readonly (readonly [string, boolean])[]> = {
  max_num_retry: [["0", true], ["4294967295", true], ["4294967296", false], ["-1", false], ["1.0", false], ["1e2", false], ["18446744073709551616", false], ["1e400", false]],
  max_num_instances: [["0", false], ["1", true], ["4294967295", true], ["4294967296", false], ["2.5", false]],
  soft_timeout_ms: [["99", false], ["100", true], ["86400001", false], ["18446744073709551615", false], ["-0", false]],
  hard_timeout_ms: [["101", true], ["86400000", true], ["86400001", false], ["100", false], ["18446744073709551616", false]],
  task_idx: [["18446744073709551615", false], ["18446744073709551616", false], ["9007199254740993", false], ["1e400", false], ["-1", false], ["0.0", false]],
  position: [["18446744073709551615", false], ["4294967296", false], ["-1", false], ["1.0", false]],
};

const name = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 12 }).filter((s) => !["schema_version", "tasks", "commit_task", "cleanup_task", "tdl_context", "execution_policy", "inputs", "outputs", "input_sources", "package", "task_func", "max_num_retry", "max_num_instances", "timeout_policy", "soft_timeout_ms", "hard_timeout_ms", "task_idx", "position"].includes(s));

export const graphMutation: fc.Arbitrary<GraphMutation> = fc.oneof(
  fc.constant<GraphMutation>({ m: "none" }),
  fc.constantFrom("schema_version", "tasks", "commit_task", "cleanup_task").map((field): GraphMutation => ({ m: "drop-top-level", field })),
  name.map((n): GraphMutation => ({ m: "extra-top-level", name: n })),
  fc.record({ where: fc.constantFrom("task", "tdl_context", "execution_policy", "source"), name }).map((r): GraphMutation => ({ m: "extra-nested", ...r })),
  fc.constantFrom("schema_version", "tasks", "commit_task", "cleanup_task").map((field): GraphMutation => ({ m: "duplicate-top-level", field })),
  fc.constantFrom("package", "task_func").map((field): GraphMutation => ({ m: "duplicate-known-member", field })),
  fc.constant<GraphMutation>({ m: "duplicate-unknown-member" }),
  fc.constantFrom("tdl_context", "inputs", "outputs").map((field): GraphMutation => ({ m: "drop-task-field", field })),
  fc.constantFrom("package", "task_func").map((field): GraphMutation => ({ m: "drop-tdl-field", field })),
  fc.constant<GraphMutation>({ m: "drop-execution-policy" }),
  fc
    .record({ at: fc.constantFrom<WrongTypeTarget>("schema_version", "tasks", "task", "package", "task_func", "inputs", "outputs", "input_sources", "commit_task", "type"), value: fc.constantFrom(...WRONG_VALUES) })
    .map((r): GraphMutation => ({ m: "wrong-type", ...r })),
  fc
    .constantFrom(...(Object.keys(NUMBERS) as NumberTarget[]))
    .chain((at) => fc.constantFrom(...NUMBERS[at]).map(([raw, valid]): GraphMutation => ({ m: "number", at, raw, valid }))),
  fc.constantFrom(10, 60, 200, 1_000, 100_000).map((depth): GraphMutation => ({ m: "deep-nesting", depth })),
  fc.boolean().map((self): GraphMutation => ({ m: "forward-reference", self })),
  fc.record({ by: fc.constantFrom<"task" | "position">("task", "position"), beyond: fc.constantFrom(0, 1, 1000) }).map((r): GraphMutation => ({ m: "dangling-source", ...r })),
  fc.constant<GraphMutation>({ m: "type-mismatch" }),
  fc
    .record({ package: fc.string({ unit: "grapheme", maxLength: 20 }), taskFunc: fc.string({ unit: "grapheme", maxLength: 20 }) })
    .map((r): GraphMutation => ({ m: "unicode-names", ...r })),
  fc.constantFrom("\\ud800", "\\udc00", "\\ud800x", "\\ud800\\u0041").map((escape): GraphMutation => ({ m: "lone-surrogate", escape })),
  fc.constant<GraphMutation>({ m: "invalid-utf8" }),
  fc.constant<GraphMutation>({ m: "empty-tasks" }),
  fc.constantFrom(["x", false], ["}", false], ["{}", false], [" \n\t ", true], ["\u0000", false]).map(([text, valid]): GraphMutation => ({ m: "trailing", text, valid })),
  fc.constantFrom("", "0.0.0", "99.0.0", "v1", "1").map((value): GraphMutation => ({ m: "schema-version", value })),
  fc.constant<GraphMutation>({ m: "struct-as-array" }),
  fc.constant<GraphMutation>({ m: "too-many-tasks" }),
  fc.constant<GraphMutation>({ m: "too-many-values" }),
  fc.constantFrom("[]", "null", "1", "\"graph\"", "", "{", "not json").map((text): GraphMutation => ({ m: "not-an-object", text })),
);

interface GraphText {
  readonly text: Uint8Array;
  readonly expect: Expectation;
  /** The graph inputs the mutated graph has (for its inputs frame). */
  readonly inputCount: number;
}

type Json = Record<string, any>;

const valid = (rule: string): Expectation => expect(OK, rule, { mayChangeState: true });
const invalid = (rule: string, details?: RegExp): Expectation => expect(INVALID_ARGUMENT, rule, details ? { details } : {});

/** The mutated graph's JSON text and what D5 says of it. */
export function mutateGraph(job: JobSpec, mutation: GraphMutation): GraphText {
  const graph = job.builder.toObject() as Json;
  const inputCount = job.inputs.length;
  const raws: string[] = [];
  const raw = (text: string) => {
    raws.push(text);
    return `__RAW_${raws.length - 1}__`;
  };
  const sourced = (graph["tasks"] as Json[]).findIndex((t) => t["input_sources"] !== null);
  const textOf = (value: unknown) => {
    let text = JSON.stringify(value);
    raws.forEach((r, i) => {
      text = text.replace(`"__RAW_${i}__"`, r);
    });
    return text;
  };
  const out = (value: unknown, e: Expectation, count = inputCount): GraphText => ({ text: encoder.encode(textOf(value)), expect: e, inputCount: count });
  const task0 = graph["tasks"][0] as Json;
  const policy = () => (task0["execution_policy"] ??= { max_num_retry: 0, max_num_instances: 1, timeout_policy: { soft_timeout_ms: 1000, hard_timeout_ms: 2000 } });
  const invalidGraph = (details?: RegExp) => invalid("D5: malformed submission (bad JSON/schema) → INVALID_ARGUMENT", details);
  switch (mutation.m) {
    case "none":
      return out(graph, valid("a valid submission → OK"));
    case "drop-top-level":
      delete graph[mutation.field];
      return out(graph, invalidGraph(/missing field/));
    case "extra-top-level":
      graph[mutation.name] = 1;
      return out(graph, invalidGraph(/unknown field/));
    case "extra-nested": {
      const target =
        mutation.where === "task" ? task0 : mutation.where === "tdl_context" ? task0["tdl_context"] : mutation.where === "execution_policy" ? policy() : sourced >= 0 ? graph["tasks"][sourced]["input_sources"][0] : task0;
      target[mutation.name] = { nested: [1, "two", null] };
      return out(graph, valid("serde ignores unknown members below the top level → OK"));
    }
    case "duplicate-top-level": {
      graph["__DUP__"] = graph[mutation.field];
      const text = textOf(graph).replace('"__DUP__"', JSON.stringify(mutation.field));
      return { text: encoder.encode(text), expect: invalidGraph(/duplicate field/), inputCount };
    }
    case "duplicate-known-member": {
      task0["tdl_context"]["__DUP__"] = "again";
      const text = textOf(graph).replace('"__DUP__"', JSON.stringify(mutation.field));
      return { text: encoder.encode(text), expect: invalidGraph(/duplicate field/), inputCount };
    }
    case "duplicate-unknown-member": {
      task0["__DUPA__"] = 1;
      task0["__DUPB__"] = 2;
      const text = textOf(graph).replace('"__DUPA__"', '"zz"').replace('"__DUPB__"', '"zz"');
      return { text: encoder.encode(text), expect: valid("unknown members may repeat (serde skips them) → OK"), inputCount };
    }
    case "drop-task-field":
      delete task0[mutation.field];
      return out(graph, invalidGraph(/missing field/));
    case "drop-tdl-field":
      delete task0["tdl_context"][mutation.field];
      return out(graph, invalidGraph(/missing field/));
    case "drop-execution-policy":
      delete task0["execution_policy"];
      return out(graph, valid("execution_policy is optional → OK"));
    case "wrong-type": {
      const value = raw(mutation.value);
      switch (mutation.at) {
        case "schema_version":
          if (mutation.value.startsWith('"')) return out(graph, valid("unchanged")); // a string is the right type
          graph["schema_version"] = value;
          break;
        case "tasks":
          // "[]" is the right type but an empty graph; everything else is the wrong type.
          graph["tasks"] = value;
          return out(graph, invalidGraph(), 0);
        case "task":
          graph["tasks"][0] = value;
          break;
        case "package":
        case "task_func":
          if (mutation.value.startsWith('"')) return out(graph, valid("a string is the right type → OK"));
          task0["tdl_context"][mutation.at] = value;
          break;
        case "outputs":
          if (mutation.value === "[]") {
            // The right type: task 0 then has no outputs, which is fine unless another task reads one.
            task0["outputs"] = [];
            const read = (graph["tasks"] as Json[]).some((t) => (t["input_sources"] as Json[] | null)?.some((s) => s["task_idx"] === 0));
            return out(graph, read ? invalidGraph(/input source/) : valid("a task without outputs → OK"));
          }
          task0["outputs"] = value;
          break;
        case "inputs":
          // "[]" makes task 0 an input task without inputs: one graph input fewer than the frame holds.
          task0["inputs"] = value;
          break;
        case "input_sources":
          task0["input_sources"] = value;
          break;
        case "commit_task":
          graph["commit_task"] = value;
          break;
        case "type":
          (task0["inputs"] as unknown[])[0] = value;
          break;
      }
      return out(graph, invalidGraph());
    }
    case "number": {
      const p = policy();
      const n = raw(mutation.raw);
      const e = mutation.valid ? valid("an in-range integer → OK") : invalidGraph();
      switch (mutation.at) {
        case "max_num_retry":
        case "max_num_instances":
          p[mutation.at] = n;
          return out(graph, e);
        case "soft_timeout_ms":
          p["timeout_policy"] = { soft_timeout_ms: n, hard_timeout_ms: 86_400_000 };
          return out(graph, e);
        case "hard_timeout_ms":
          p["timeout_policy"] = { soft_timeout_ms: 100, hard_timeout_ms: n };
          return out(graph, e);
        case "task_idx":
        case "position": {
          // Task 0 made a sourced task: it has an input, so it needs a source; any of these numbers names no earlier task.
          task0["input_sources"] = [{ task_idx: mutation.at === "task_idx" ? n : 0, position: mutation.at === "position" ? n : 0 }];
          return out(graph, invalidGraph(), inputCount - (task0["inputs"] as unknown[]).length);
        }
      }
      break;
    }
    case "deep-nesting": {
      // Root object › tasks array › task object › member: 3 levels before the nesting.
      task0["deep"] = raw("[".repeat(mutation.depth) + "]".repeat(mutation.depth));
      return out(graph, 3 + mutation.depth <= 127 ? valid("nesting within serde's 127 levels, in an unknown member → OK") : invalidGraph(/recursion limit/));
    }
    case "forward-reference": {
      // Task 0 reads its own output (self) or the last task's: sources must name earlier tasks (no cycles).
      const last = graph["tasks"].length - 1;
      const index = mutation.self || last === 0 ? 0 : last;
      task0["outputs"] = [...task0["outputs"]];
      task0["input_sources"] = (task0["inputs"] as unknown[]).map(() => ({ task_idx: index, position: 0 }));
      return out(graph, invalidGraph(/earlier task/), inputCount - (task0["inputs"] as unknown[]).length);
    }
    case "dangling-source": {
      if (sourced < 0) {
        task0["input_sources"] = [{ task_idx: graph["tasks"].length + mutation.beyond, position: 0 }];
        return out(graph, invalidGraph(/input source/), inputCount - 1);
      }
      const source = graph["tasks"][sourced]["input_sources"][0];
      if (mutation.by === "task") source["task_idx"] = graph["tasks"].length + mutation.beyond;
      else source["position"] = graph["tasks"][source["task_idx"]]["outputs"].length + mutation.beyond;
      return out(graph, invalidGraph(/input source/));
    }
    case "type-mismatch": {
      if (sourced < 0) {
        // An input task's own input type does not refer to anything: give task 0 an int input and a source of bytes instead.
        task0["input_sources"] = [{ task_idx: 0, position: 0 }];
        return out(graph, invalidGraph(), inputCount - 1);
      }
      graph["tasks"][sourced]["inputs"][0] = INT64;
      return out(graph, invalidGraph(/mismatched input type/));
    }
    case "unicode-names":
      task0["tdl_context"] = { package: mutation.package, task_func: mutation.taskFunc };
      return out(graph, valid("any UTF-8 names → OK"));
    case "lone-surrogate": {
      task0["tdl_context"]["package"] = raw(`"pkg${mutation.escape}"`);
      return out(graph, invalidGraph(/surrogate/));
    }
    case "invalid-utf8": {
      const text = encoder.encode(textOf(graph).replace('"test_pkg"', '"__BAD__"'));
      const at = Buffer.from(text).indexOf("__BAD__");
      if (at >= 0) text.set([0x74, 0xc3, 0x28, 0xff, 0xfe, 0x80, 0x5f], at);
      return { text, expect: invalidGraph(), inputCount };
    }
    case "empty-tasks":
      graph["tasks"] = [];
      return out(graph, invalidGraph(/at least one task/), 0);
    case "trailing": {
      const text = textOf(graph) + mutation.text;
      return { text: encoder.encode(text), expect: mutation.valid ? valid("trailing whitespace → OK") : invalidGraph(), inputCount };
    }
    case "schema-version":
      graph["schema_version"] = mutation.value;
      return out(graph, invalidGraph());
    case "struct-as-array":
      task0["tdl_context"] = [task0["tdl_context"]["package"], task0["tdl_context"]["task_func"]];
      return out(graph, valid("serde reads a struct from the sequence of its fields → OK"));
    case "too-many-tasks": {
      graph["tasks"] = Array.from({ length: 3_001 }, (_, i) => ({ tdl_context: { package: "p", task_func: `f${i}` }, inputs: [], outputs: [], input_sources: null }));
      return out(graph, invalidGraph(/runtime\.limits\.max_tasks_per_job/), 0);
    }
    case "too-many-values":
      task0["many"] = raw(`[${new Array(70_000).fill("0").join(",")}]`);
      return out(graph, invalidGraph(/runtime\.limits\.max_task_graph_values/));
    case "not-an-object":
      return { text: encoder.encode(mutation.text), expect: invalidGraph(), inputCount };
  }
  throw new Error(`unhandled graph mutation ${JSON.stringify(mutation)}`);
}

// ---------------------------------------------------------------------------
// Inputs frame mutations

export type FrameMutation =
  | { readonly f: "truncate"; readonly keep: number }
  | { readonly f: "count"; readonly delta: number }
  | { readonly f: "count-max" }
  | { readonly f: "length-beyond"; readonly by: number }
  | { readonly f: "trailing"; readonly bytes: Uint8Array }
  | { readonly f: "empty" };

export const frameMutation: fc.Arbitrary<FrameMutation> = fc.oneof(
  fc.double({ min: 0, max: 0.999, noNaN: true }).map((keep): FrameMutation => ({ f: "truncate", keep })),
  fc.constantFrom(-3, -1, 1, 2, 1000).map((delta): FrameMutation => ({ f: "count", delta })),
  fc.constant<FrameMutation>({ f: "count-max" }),
  fc.constantFrom(1, 100, 2 ** 31).map((by): FrameMutation => ({ f: "length-beyond", by })),
  fc.uint8Array({ minLength: 1, maxLength: 32 }).map((bytes): FrameMutation => ({ f: "trailing", bytes })),
  fc.constant<FrameMutation>({ f: "empty" }),
);

function mutateFrame(inputs: readonly Uint8Array[], mutation: FrameMutation): { frame: Uint8Array; expect: Expectation } {
  const frame = encodeWireFrame(inputs);
  const view = new DataView(frame.buffer);
  const bad = (details?: RegExp) => invalid("D5: malformed submission (bad input frame, input count) → INVALID_ARGUMENT", details);
  switch (mutation.f) {
    case "truncate":
      return { frame: frame.subarray(0, Math.floor(mutation.keep * frame.length)), expect: bad() };
    case "count": {
      const count = inputs.length + mutation.delta;
      if (count < 0) return { frame: frame.subarray(0, 2), expect: bad() };
      view.setUint32(0, count, true);
      return { frame, expect: bad(/input size mismatch/) };
    }
    case "count-max":
      view.setUint32(0, 0xffff_ffff, true);
      return { frame, expect: bad(/input size mismatch/) };
    case "length-beyond": {
      // The last payload's length runs past the end.
      let pos = 4;
      for (let i = 0; i < inputs.length - 1; i++) pos += 4 + inputs[i]!.length;
      if (inputs.length === 0) return { frame: frame.subarray(0, 3), expect: bad() };
      view.setUint32(pos, Math.min(0xffff_ffff, inputs[inputs.length - 1]!.length + mutation.by), true);
      return { frame, expect: bad() };
    }
    case "trailing":
      return { frame: concat(frame, mutation.bytes), expect: valid("bytes after the last payload are ignored, as Spider ignores them → OK") };
    case "empty":
      return { frame: new Uint8Array(0), expect: bad() };
  }
}

// ---------------------------------------------------------------------------
// zstd mutations

export type ZstdMutation =
  | { readonly z: "truncate"; readonly keep: number }
  | { readonly z: "wrong-magic"; readonly magic: number }
  | { readonly z: "empty-frames"; readonly count: number }
  | { readonly z: "skippable-frames"; readonly count: number }
  | { readonly z: "declared-size"; readonly size: bigint }
  | { readonly z: "bomb"; readonly declared: boolean }
  | { readonly z: "split"; readonly parts: number }
  | { readonly z: "uncompressed" };

export const zstdMutation: fc.Arbitrary<ZstdMutation> = fc.oneof(
  fc.double({ min: 0, max: 0.999, noNaN: true }).map((keep): ZstdMutation => ({ z: "truncate", keep })),
  fc.constantFrom(0x00000000, 0xfd2fb527, 0x04034b50, 0x28b52ffe).map((magic): ZstdMutation => ({ z: "wrong-magic", magic })),
  fc.constantFrom(1, 10, 63, 64, 1_000, 100_000).map((count): ZstdMutation => ({ z: "empty-frames", count })),
  fc.constantFrom(1, 5, 63, 64, 500).map((count): ZstdMutation => ({ z: "skippable-frames", count })),
  fc.constantFrom(64n * 1024n * 1024n + 1n, 2n ** 40n, 2n ** 64n - 1n).map((size): ZstdMutation => ({ z: "declared-size", size })),
  fc.boolean().map((declared): ZstdMutation => ({ z: "bomb", declared })),
  fc.constantFrom(2, 3, 8).map((parts): ZstdMutation => ({ z: "split", parts })),
  fc.constant<ZstdMutation>({ z: "uncompressed" }),
);

const EMPTY_FRAME = compressZstd(new Uint8Array(0));
const bombs = new Map<string, Uint8Array>();

/** zstd from the streaming compressor: one frame that declares no content size (as Spider's Rust client writes). */
function streamCompressedSync(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const compressor = createZstdCompress();
    compressor.on("data", (part: Buffer) => parts.push(part));
    compressor.on("end", () => resolve(Buffer.concat(parts)));
    compressor.on("error", reject);
    compressor.end(data);
  });
}

/** A frame header declaring `size` bytes of content, followed by one raw block that holds 1 byte. */
function frameDeclaring(size: bigint): Uint8Array {
  const header = new Uint8Array(4 + 1 + 8);
  new DataView(header.buffer).setUint32(0, 0xfd2fb528, true);
  header[4] = 0b1110_0000; // FCS field 8 bytes, single segment
  new DataView(header.buffer).setBigUint64(5, size, true);
  return concat(header, new Uint8Array([0x09, 0x00, 0x00, 0x41])); // last raw block of 1 byte
}

function skippableFrame(length: number): Uint8Array {
  const frame = new Uint8Array(8 + length).fill(0x5a);
  new DataView(frame.buffer).setUint32(0, 0x184d2a50, true);
  new DataView(frame.buffer).setUint32(4, length, true);
  return frame;
}

async function mutateZstd(data: Uint8Array, target: "graph" | "inputs", mutation: ZstdMutation): Promise<{ compressed: Uint8Array; expect: Expectation }> {
  const compressed = compressZstd(data);
  const bad = (details?: RegExp) => invalid("D5: malformed submission, zstd bomb, size limit → INVALID_ARGUMENT", details);
  const frameLimit = /runtime\.limits\.max_zstd_frames/;
  switch (mutation.z) {
    case "truncate":
      return { compressed: compressed.subarray(0, Math.floor(mutation.keep * compressed.length)), expect: bad() };
    case "wrong-magic": {
      const copy = compressed.slice();
      new DataView(copy.buffer).setUint32(0, mutation.magic, true);
      return { compressed: copy, expect: bad() };
    }
    case "empty-frames": {
      const frames = new Uint8Array(EMPTY_FRAME.length * mutation.count);
      for (let i = 0; i < mutation.count; i++) frames.set(EMPTY_FRAME, i * EMPTY_FRAME.length);
      return {
        compressed: concat(frames, compressed),
        expect: mutation.count + 1 <= 64 ? valid("concatenated frames (Spider decodes them all), within max_zstd_frames → OK") : bad(frameLimit),
      };
    }
    case "skippable-frames": {
      const parts = Array.from({ length: mutation.count }, (_, i) => skippableFrame(i % 7));
      return {
        compressed: concat(...parts, compressed),
        expect: mutation.count + 1 <= 64 ? valid("skippable frames are passed over, as zstd's decoder does → OK") : bad(frameLimit),
      };
    }
    case "declared-size":
      return { compressed: concat(compressed, frameDeclaring(mutation.size)), expect: bad(/above the limit/) };
    case "bomb": {
      // Decompresses past the budget: 8 MiB for a graph (max_task_graph_bytes), 64 MiB for inputs (max_decompressed_bytes).
      const key = `${target}:${mutation.declared}`;
      let bomb = bombs.get(key);
      if (bomb === undefined) {
        const size = target === "graph" ? 8 * 1024 * 1024 + 1 : 64 * 1024 * 1024 + 1;
        const body = new Uint8Array(size).fill(target === "graph" ? 0x20 : 0);
        bomb = mutation.declared ? compressZstd(body) : await streamCompressedSync(body);
        bombs.set(key, bomb);
      }
      return {
        compressed: concat(compressed, bomb),
        expect: bad(target === "graph" ? /runtime\.limits\.max_task_graph_bytes/ : /runtime\.limits\.max_decompressed_bytes/),
      };
    }
    case "split": {
      const parts: Uint8Array[] = [];
      const step = Math.ceil(data.length / mutation.parts);
      for (let at = 0; at < data.length || parts.length === 0; at += step) parts.push(compressZstd(data.subarray(at, at + step)));
      return { compressed: concat(...parts), expect: valid("concatenated frames are one stream (Spider accepts them) → OK") };
    }
    case "uncompressed":
      return { compressed: data, expect: bad() };
  }
}

// ---------------------------------------------------------------------------
// The cases

export type SubmissionMutation =
  | { readonly kind: "task-graph"; readonly graph: GraphMutation }
  | { readonly kind: "job-inputs-frame"; readonly frame: FrameMutation }
  | { readonly kind: "zstd-stream"; readonly target: "graph" | "inputs"; readonly zstd: ZstdMutation };

export interface SubmissionCase {
  readonly base: BaseJob;
  readonly mutation: SubmissionMutation;
  /** Under an unknown resource group (0 or 2^64 − 1) instead of the world's. */
  readonly unknownGroup: false | 0n | 18446744073709551615n;
}

export function submissionCase(kind: SubmissionMutation["kind"]): fc.Arbitrary<SubmissionCase> {
  const mutation: fc.Arbitrary<SubmissionMutation> =
    kind === "task-graph"
      ? graphMutation.map((graph) => ({ kind, graph }))
      : kind === "job-inputs-frame"
        ? frameMutation.map((frame) => ({ kind, frame }))
        : fc.record({ target: fc.constantFrom<"graph" | "inputs">("graph", "inputs"), zstd: zstdMutation }).map((r) => ({ kind, ...r }));
  return fc.record({
    base: baseJob,
    mutation,
    unknownGroup: fc.oneof({ weight: 6, arbitrary: fc.constant<false>(false) }, { weight: 1, arbitrary: fc.constantFrom<0n | 18446744073709551615n>(0n, 18446744073709551615n) }),
  });
}

export async function buildSubmission(c: SubmissionCase, world: FuzzWorld): Promise<BuiltRequest> {
  const job = jobOf(c.base);
  let graphJson: Uint8Array = encoder.encode(job.builder.toJson());
  let inputs = job.inputs;
  let graphCompressed: Uint8Array | undefined;
  let inputsCompressed: Uint8Array | undefined;
  let expectation: Expectation;
  const m = c.mutation;
  if (m.kind === "task-graph") {
    const mutated = mutateGraph(job, m.graph);
    graphJson = mutated.text;
    inputs = Array.from({ length: Math.max(0, mutated.inputCount) }, (_, i) => encoder.encode(`input-${i}`));
    expectation = mutated.expect;
  } else if (m.kind === "job-inputs-frame") {
    const mutated = mutateFrame(inputs, m.frame);
    inputsCompressed = compressZstd(mutated.frame);
    expectation = mutated.expect;
  } else if (m.target === "graph") {
    const mutated = await mutateZstd(graphJson, "graph", m.zstd);
    graphCompressed = mutated.compressed;
    expectation = mutated.expect;
  } else {
    const mutated = await mutateZstd(encodeWireFrame(inputs), "inputs", m.zstd);
    inputsCompressed = mutated.compressed;
    expectation = mutated.expect;
  }
  graphCompressed ??= compressZstd(graphJson);
  inputsCompressed ??= compressZstd(encodeWireFrame(inputs));
  if (c.unknownGroup !== false && expectation.codes[0] === OK) {
    expectation = expect(UNAUTHENTICATED, "D5: RegisterJob of a valid submission under an unknown resource group → UNAUTHENTICATED");
  }
  const bytes = toBinary(
    RegisterJobRequestSchema,
    create(RegisterJobRequestSchema, {
      resourceGroupId: c.unknownGroup === false ? world.resourceGroupId : c.unknownGroup,
      compressedSerializedTaskGraph: graphCompressed.slice(),
      compressedSerializedInputs: inputsCompressed.slice(),
    }),
  );
  return {
    method: "JobOrchestrationService.RegisterJob",
    bytes,
    expect: expectation,
    description: `RegisterJob ${c.base.shape}${c.base.commit ? "+commit" : ""}${c.base.cleanup ? "+cleanup" : ""} ${JSON.stringify(m, (_, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? `<${v.length} bytes>` : v))}${c.unknownGroup === false ? "" : ` under unknown group ${c.unknownGroup}`}`,
  };
}
