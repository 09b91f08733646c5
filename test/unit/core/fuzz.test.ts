/**
 * Fuzzing every decoder with random and mutated bytes: each call must end in
 * success or a StorageError("invalid_argument"), never another exception
 * (a hang is caught by the test timeout; speed is not bounded here). Seeded; the seed is printed, and CORE_FUZZ_SEED
 * replays a run. CORE_FUZZ_ROUNDS scales the work (default 1).
 */
import { describe, expect, it } from "vitest";
import { isStorageError } from "../../../src/core/errors.ts";
import { validateJobSubmission } from "../../../src/core/job-submission.ts";
import { compressJobInputs } from "../../../testkit/job-inputs.ts";
import { decodeTaskOutputs, encodeTaskOutputs } from "../../../src/core/task-outputs.ts";
import { decodeTaskGraph, parseTaskGraphJson } from "../../../src/core/task-graph.ts";
import { BYTES, INT64, TaskGraphBuilder, valueType, valueTypes } from "../../../testkit/task-graph-builder.ts";
import { decodeWireFrame, encodeWireFrame } from "../../../src/core/wire-frame.ts";
import { compressZstd, decompressZstd } from "../../../src/core/zstd.ts";
import { seededRandom, testSeed, utf8 } from "./helpers.ts";
import { SPIDER_TASK_GRAPH_JSON } from "./spider-fixture.ts";

const SEED = testSeed("CORE_FUZZ_SEED");
const ROUNDS = Number(process.env["CORE_FUZZ_ROUNDS"] ?? "1");
const BUDGET = 1 << 20;

type Random = () => number;

const int = (random: Random, below: number): number => Math.floor(random() * below);

function randomBytes(random: Random, maxLength: number): Uint8Array {
  const out = new Uint8Array(int(random, maxLength + 1));
  for (let i = 0; i < out.length; i += 1) {
    out[i] = int(random, 256);
  }
  return out;
}

/** One to four edits: bit flips, byte sets, inserts, deletes, truncation, duplication of a slice, extreme u32s. */
function mutate(random: Random, input: Uint8Array): Uint8Array {
  let bytes = input.slice();
  const edits = 1 + int(random, 4);
  for (let e = 0; e < edits; e += 1) {
    const at = int(random, bytes.length + 1);
    switch (int(random, 7)) {
      case 0:
        if (bytes.length > 0) {
          bytes[at % bytes.length]! ^= 1 << int(random, 8);
        }
        break;
      case 1:
        if (bytes.length > 0) {
          bytes[at % bytes.length] = int(random, 256);
        }
        break;
      case 2: {
        const extra = randomBytes(random, 8);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...extra, ...bytes.subarray(at)]);
        break;
      }
      case 3:
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + int(random, 8))]);
        break;
      case 4:
        bytes = bytes.subarray(0, at).slice();
        break;
      case 5: {
        const end = Math.min(bytes.length, at + int(random, 32));
        bytes = Uint8Array.from([...bytes.subarray(0, end), ...bytes.subarray(at, end), ...bytes.subarray(end)]);
        break;
      }
      default:
        if (bytes.length >= 4) {
          const pos = at % (bytes.length - 3);
          const value = [0xffffffff, 0x7fffffff, 0x80000000, 0, 1, 0x10000][int(random, 6)]!;
          new DataView(bytes.buffer, bytes.byteOffset).setUint32(pos, value, true);
        }
    }
  }
  return bytes;
}

/** Text mutations that keep JSON mostly well-formed, to reach the validator rather than the tokenizer. */
function mutateJson(random: Random, text: string): string {
  const tokens = ['"', "{", "}", "[", "]", ",", ":", "0", "-1", "1.0", "1e309", "null", "true", '"x"', "\\u", "\\ud800", '"Value"', '"tasks"', '"task_idx"', "99999999999999999999", " "];
  let out = text;
  const edits = 1 + int(random, 3);
  for (let e = 0; e < edits; e += 1) {
    const at = int(random, out.length + 1);
    switch (int(random, 4)) {
      case 0:
        out = out.slice(0, at) + tokens[int(random, tokens.length)]! + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + int(random, 12));
        break;
      case 2: {
        // replace a number
        const match = /\d+/g;
        const numbers = [...out.matchAll(match)];
        const pick = numbers[int(random, Math.max(1, numbers.length))];
        if (pick !== undefined && pick.index !== undefined) {
          const replacement = ["0", "1", "4294967296", "-1", "1.0", "99", "100", "86400001", "18446744073709551616"][int(random, 9)]!;
          out = out.slice(0, pick.index) + replacement + out.slice(pick.index + pick[0].length);
        }
        break;
      }
      default: {
        // duplicate a slice (e.g. a key and its value)
        const end = Math.min(out.length, at + int(random, 40));
        out = out.slice(0, end) + out.slice(at, end) + out.slice(end);
      }
    }
  }
  return out;
}

const graphBuilder = new TaskGraphBuilder()
  .task({ inputs: [INT64, BYTES], outputs: [INT64, valueType(valueTypes.map("Int32", valueTypes.list(valueTypes.struct("S"))))], policy: { maxNumRetry: 2 } })
  .task({ outputs: [BYTES], sources: [[0, 0], [0, 1]], inputs: [INT64, valueType(valueTypes.map("Int32", valueTypes.list(valueTypes.struct("S"))))] })
  .commit({ policy: { softTimeoutMs: 1000, hardTimeoutMs: 2000 } })
  .cleanup();
const GRAPH_JSONS = [graphBuilder.toJson(), SPIDER_TASK_GRAPH_JSON, JSON.stringify(JSON.parse(SPIDER_TASK_GRAPH_JSON))];
const COMPRESSED_GRAPHS = [graphBuilder.toCompressed(), compressZstd(utf8(SPIDER_TASK_GRAPH_JSON))];
const FRAMES = [encodeWireFrame([]), encodeWireFrame([utf8("a"), new Uint8Array(0), utf8("hello world")]), encodeWireFrame([new Uint8Array(300).fill(9)])];
const OUTPUTS = [encodeTaskOutputs([utf8("x")]), encodeTaskOutputs([new Uint8Array(2000).fill(1), utf8("y")]), encodeTaskOutputs([], 1)];
const INPUTS = [compressJobInputs([utf8("i1"), utf8("i2")]), compressJobInputs([new Uint8Array(5000)])];
const ZSTD = [compressZstd(utf8("abc".repeat(500))), compressZstd(new Uint8Array(100_000)), compressZstd(new Uint8Array(0))];

interface Stats {
  calls: number;
  ok: number;
  rejected: number;
}

/** Calls `fn`; anything but success or StorageError(invalid_argument) fails the test with the seed. */
function attempt(stats: Stats, label: string, input: unknown, fn: () => unknown): void {
  try {
    fn();
    stats.ok += 1;
  } catch (error) {
    if (!isStorageError(error, "invalid_argument")) {
      const shown = input instanceof Uint8Array ? Buffer.from(input).toString("hex") : JSON.stringify(input);
      throw new Error(`${label} threw a non-StorageError (CORE_FUZZ_SEED=${SEED}) for input ${shown}: ${String(error)}`, { cause: error });
    }
    stats.rejected += 1;
  }
  stats.calls += 1;
}

function fuzz(label: string, iterations: number, generate: (random: Random) => Uint8Array | string, decode: (input: never) => unknown): Stats {
  const random = seededRandom(SEED ^ [...label].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
  const stats: Stats = { calls: 0, ok: 0, rejected: 0 };
  for (let i = 0; i < iterations * ROUNDS; i += 1) {
    const input = generate(random);
    attempt(stats, label, input, () => decode(input as never));
  }
  return stats;
}

const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)]!;
const mixed = (seeds: readonly Uint8Array[], maxRandom: number) => (random: Random): Uint8Array =>
  random() < 0.25 ? randomBytes(random, maxRandom) : mutate(random, pick(random, seeds));

describe(`fuzzing decoders (CORE_FUZZ_SEED=${SEED})`, () => {
  it("decompressZstd", () => {
    const stats = fuzz("decompressZstd", 3000, mixed(ZSTD, 64), (input: Uint8Array) => decompressZstd(input, { maxOutputBytes: BUDGET }));
    expect(stats.rejected).toBeGreaterThan(0);
  });

  it("decodeWireFrame", () => {
    const stats = fuzz("decodeWireFrame", 6000, mixed(FRAMES, 40), (input: Uint8Array) => decodeWireFrame(input));
    expect(stats.ok).toBeGreaterThan(0);
    expect(stats.rejected).toBeGreaterThan(0);
  });

  it("decodeTaskOutputs", () => {
    const stats = fuzz("decodeTaskOutputs", 4000, mixed(OUTPUTS, 40), (input: Uint8Array) => decodeTaskOutputs(input, { maxOutputBytes: BUDGET }));
    expect(stats.ok).toBeGreaterThan(0);
    expect(stats.rejected).toBeGreaterThan(0);
  });

  it("decodeTaskGraph", () => {
    const generate = (random: Random): Uint8Array => {
      const r = random();
      if (r < 0.4) {
        return mixed(COMPRESSED_GRAPHS, 64)(random);
      }
      // Valid zstd around mutated JSON, so the mutations reach the parser.
      return compressZstd(utf8(mutateJson(random, pick(random, GRAPH_JSONS))), 1);
    };
    const stats = fuzz("decodeTaskGraph", 2000, generate, (input: Uint8Array) => decodeTaskGraph(input, { maxDecompressedBytes: BUDGET }));
    expect(stats.rejected).toBeGreaterThan(0);
  });

  it("parseTaskGraphJson (text and bytes)", () => {
    const generate = (random: Random): Uint8Array | string => {
      const r = random();
      if (r < 0.15) {
        return randomBytes(random, 80);
      }
      if (r < 0.35) {
        return mutate(random, utf8(pick(random, GRAPH_JSONS)));
      }
      return mutateJson(random, pick(random, GRAPH_JSONS));
    };
    const stats = fuzz("parseTaskGraphJson", 6000, generate, (input: Uint8Array | string) => parseTaskGraphJson(input));
    expect(stats.ok).toBeGreaterThan(0);
    expect(stats.rejected).toBeGreaterThan(0);
  });

  it("validateJobSubmission", () => {
    const generate = (random: Random): Uint8Array => {
      // Encode the pair in one buffer: [graph length u32][graph][inputs], mutating one side or both.
      const graph = random() < 0.6 ? pick(random, COMPRESSED_GRAPHS) : mutate(random, pick(random, COMPRESSED_GRAPHS));
      const inputs = random() < 0.5 ? pick(random, INPUTS) : mutate(random, pick(random, INPUTS));
      const out = new Uint8Array(4 + graph.length + inputs.length);
      new DataView(out.buffer).setUint32(0, graph.length, true);
      out.set(graph, 4);
      out.set(inputs, 4 + graph.length);
      return out;
    };
    const stats = fuzz("validateJobSubmission", 2000, generate, (input: Uint8Array) => {
      const graphLength = new DataView(input.buffer, input.byteOffset).getUint32(0, true);
      return validateJobSubmission(input.subarray(4, 4 + graphLength), input.subarray(4 + graphLength), {
        maxDecompressedBytes: BUDGET,
        maxTasks: 100,
        maxDependencies: 100,
        maxZstdFrames: 4,
        maxTaskGraphValues: 10_000,
        maxTaskGraphBytes: BUDGET,
      });
    });
    expect(stats.rejected).toBeGreaterThan(0);
  });
});
