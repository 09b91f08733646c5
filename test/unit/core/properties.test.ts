/**
 * Property tests (fast-check) for every encoding's round trip, and for the
 * task graph's derived facts against a straightforward model of random DAGs.
 * fast-check prints the seed and path of any failure; FC_SEED replays one.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateJobSubmission } from "../../../src/core/job-submission.ts";
import { compressJobInputs } from "../../../testkit/job-inputs.ts";
import { decodeTaskOutputs, encodeTaskOutputs, type TaskOutputsOption } from "../../../src/core/task-outputs.ts";
import { graphOutputsOf, parseTaskGraphJson } from "../../../src/core/task-graph.ts";
import {
  BYTES,
  INT64,
  sharedValueType,
  TaskGraphBuilder,
  valueType,
  valueTypes,
  type SourceRef,
  type TypeDescriptorJson,
} from "../../../testkit/task-graph-builder.ts";
import { decodeWireFrame, encodeWireFrame } from "../../../src/core/wire-frame.ts";
import { compressZstd, decompressZstd } from "../../../src/core/zstd.ts";
import { concat } from "./helpers.ts";

const seed = process.env["FC_SEED"] === undefined ? undefined : Number(process.env["FC_SEED"]);
const params = (numRuns: number): fc.Parameters<unknown> => (seed === undefined ? { numRuns } : { numRuns, seed });

const payloads = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 });

describe("round trips", () => {
  it("wire frame: decode(encode(p)) = p, whatever follows the frame", () => {
    fc.assert(
      fc.property(payloads, fc.uint8Array({ maxLength: 16 }), (p, trailing) => {
        const frame = encodeWireFrame(p);
        expect(frame.length).toBe(4 + p.reduce((n, x) => n + 4 + x.length, 0));
        expect(decodeWireFrame(frame)).toEqual(p);
        expect(decodeWireFrame(concat(frame, trailing))).toEqual(p);
      }),
      params(300),
    );
  });

  it("wire frame: every strict prefix of a non-empty frame fails", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 5 }), fc.nat(), (p, cut) => {
        const frame = encodeWireFrame(p);
        const prefix = frame.subarray(0, cut % frame.length);
        expect(() => decodeWireFrame(prefix)).toThrow();
      }),
      params(300),
    );
  });

  it("task outputs: decode(encode(p, option)) = p for every option", () => {
    const big = fc.array(fc.uint8Array({ maxLength: 900 }), { maxLength: 4 });
    fc.assert(
      fc.property(fc.oneof(payloads, big), fc.constantFrom<TaskOutputsOption | undefined>(undefined, 0, 1), (p, option) => {
        const raw = encodeTaskOutputs(p, option);
        const total = p.reduce((n, x) => n + x.length, 0);
        expect(raw[0]).toBe(option ?? (total > 1024 ? 1 : 0));
        expect(decodeTaskOutputs(raw, { maxOutputBytes: 1 << 20 })).toEqual(p);
      }),
      params(200),
    );
  });

  it("zstd: any split into frames, with skippable frames between, decodes to the whole", () => {
    const chunk = fc.record({
      data: fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 20_000 }).map((n) => new Uint8Array(n).fill(n % 251))),
      level: fc.integer({ min: 1, max: 6 }),
      skippable: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(chunk, { minLength: 1, maxLength: 5 }), (chunks) => {
        const parts: Uint8Array[] = [];
        for (const c of chunks) {
          parts.push(compressZstd(c.data, c.level));
          if (c.skippable !== undefined) {
            const header = new Uint8Array(8);
            new DataView(header.buffer).setUint32(0, 0x184d2a5a, true);
            new DataView(header.buffer).setUint32(4, c.skippable.length, true);
            parts.push(header, c.skippable);
          }
        }
        const whole = concat(...chunks.map((c) => c.data));
        // Buffer.equals: toEqual walks big typed arrays element by element, far too slowly.
        expect(Buffer.from(decompressZstd(concat(...parts), { maxOutputBytes: whole.length })).equals(whole)).toBe(true);
        if (whole.length > 0) {
          expect(() => decompressZstd(concat(...parts), { maxOutputBytes: whole.length - 1 })).toThrow(/above the limit/);
        }
      }),
      params(150),
    );
  });

  it("job inputs: validateJobSubmission returns the payloads compressJobInputs was given", () => {
    fc.assert(
      fc.property(payloads, (p) => {
        const graph = TaskGraphBuilder.independent(p.length).task({ outputs: [INT64] }).toCompressed();
        expect(validateJobSubmission(graph, compressJobInputs(p)).inputs).toEqual(p);
      }),
      params(100),
    );
  });
});

const TYPES: readonly TypeDescriptorJson[] = [
  INT64,
  BYTES,
  valueType(valueTypes.boolean),
  sharedValueType(valueTypes.int64),
  valueType(valueTypes.list(valueTypes.map("Int32", valueTypes.struct("S")))),
];

interface TaskPlan {
  readonly input: boolean;
  readonly inputCount: number;
  readonly outputTypes: readonly number[];
  readonly picks: readonly number[];
}

const taskPlan: fc.Arbitrary<TaskPlan> = fc.record({
  input: fc.boolean(),
  inputCount: fc.nat(4),
  outputTypes: fc.array(fc.nat(TYPES.length - 1), { maxLength: 3 }),
  picks: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
});

/** Builds a valid graph from the plans and the facts the parser must derive from it. */
function buildFromPlans(plans: readonly TaskPlan[]) {
  const builder = new TaskGraphBuilder();
  const outputs: { task: number; position: number; type: number }[] = [];
  const parents: number[][] = [];
  const sourcesOf: (SourceRef[] | null)[] = [];
  const inputCounts: number[] = [];
  plans.forEach((plan, index) => {
    const asInput = plan.input || outputs.length === 0 || plan.inputCount === 0;
    if (asInput) {
      const types = plan.picks.slice(0, plan.inputCount).map((p) => TYPES[p % TYPES.length]!);
      builder.task({ inputs: types, outputs: plan.outputTypes.map((t) => TYPES[t]!) });
      parents.push([]);
      sourcesOf.push(null);
      inputCounts.push(types.length);
    } else {
      const chosen = plan.picks.slice(0, plan.inputCount).map((p) => outputs[p % outputs.length]!);
      const sources = chosen.map((o): SourceRef => [o.task, o.position]);
      builder.task({ sources, outputs: plan.outputTypes.map((t) => TYPES[t]!) });
      parents.push([...new Set(chosen.map((o) => o.task))].sort((a, b) => a - b));
      sourcesOf.push(sources);
      inputCounts.push(sources.length);
    }
    plan.outputTypes.forEach((type, position) => outputs.push({ task: index, position, type }));
  });
  const children = plans.map((_, i) => parents.flatMap((ps, child) => (ps.includes(i) ? [child] : [])));
  let offset = 0;
  const offsets = sourcesOf.map((s, i) => {
    if (s !== null) {
      return -1;
    }
    const mine = offset;
    offset += inputCounts[i]!;
    return mine;
  });
  const graphOutputs = plans.flatMap((plan, task) =>
    children[task]!.length === 0 ? plan.outputTypes.map((_, position) => ({ taskIndex: task, position })) : [],
  );
  const dependencyCount = sourcesOf.reduce((n, s) => n + (s?.length ?? 0), 0);
  return { builder, parents, children, offsets, graphInputCount: offset, graphOutputs, dependencyCount, sourcesOf };
}

describe("task graph", () => {
  it("derives parents, children, graph inputs and outputs of random DAGs as the model does", () => {
    fc.assert(
      fc.property(fc.array(taskPlan, { minLength: 1, maxLength: 25 }), (plans) => {
        const model = buildFromPlans(plans);
        const graph = model.builder.build();
        expect(graph.tasks.map((t) => t.parents)).toEqual(model.parents);
        expect(graph.tasks.map((t) => t.children)).toEqual(model.children);
        expect(graph.tasks.map((t) => t.graphInputOffset)).toEqual(model.offsets);
        expect(graph.graphInputCount).toBe(model.graphInputCount);
        expect(graphOutputsOf(graph)).toEqual(model.graphOutputs);
        expect(graph.graphOutputCount).toBe(model.graphOutputs.length);
        expect(graph.dependencyCount).toBe(model.dependencyCount);
        expect(graph.tasks.map((t) => t.inputSources?.map((s) => [s.taskIndex, s.position]) ?? null)).toEqual(model.sourcesOf);
        expect(graph.tasks[0]!.parents).toEqual([]);
      }),
      params(200),
    );
  });

  it("does not depend on whitespace or key order", () => {
    const shuffle = (value: unknown, picks: number[]): unknown => {
      if (Array.isArray(value)) {
        return value.map((v) => shuffle(v, picks));
      }
      if (value !== null && typeof value === "object") {
        const entries = Object.entries(value);
        const pick = picks.length === 0 ? 0 : picks[entries.length % picks.length]!;
        const rotated = [...entries.slice(pick % Math.max(1, entries.length)), ...entries.slice(0, pick % Math.max(1, entries.length))];
        return Object.fromEntries(rotated.map(([k, v]) => [k, shuffle(v, picks)]));
      }
      return value;
    };
    fc.assert(
      fc.property(fc.array(taskPlan, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(10), { maxLength: 5 }), fc.nat(4), (plans, picks, indent) => {
        const { builder } = buildFromPlans(plans);
        const reference = builder.build();
        const reshaped = JSON.stringify(shuffle(builder.toObject(), picks), null, indent);
        expect(parseTaskGraphJson(reshaped)).toEqual(reference);
      }),
      params(100),
    );
  });
});
