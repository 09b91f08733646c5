/**
 * Graph shapes used by the end-to-end, crash and benchmark workloads. Every
 * task's function name ends in ":N" with its output count (see
 * `simTaskFunc`), so the simulated execution manager knows how many outputs
 * to produce, and `expectedJobOutputs` gives the oracle's answer.
 */
import { BYTES, TaskGraphBuilder, type PolicyOptions } from "../task-graph-builder.ts";
import { simTaskFunc } from "./simulated-execution-manager.ts";

export interface JobSpec {
  readonly builder: TaskGraphBuilder;
  readonly inputs: Uint8Array[];
}

export interface ShapeOptions {
  readonly commit?: boolean;
  readonly cleanup?: boolean;
  readonly policy?: PolicyOptions;
  readonly commitPolicy?: PolicyOptions;
  readonly cleanupPolicy?: PolicyOptions;
  /** Distinguishes the inputs of otherwise equal jobs. */
  readonly seed?: number;
}

function input(seed: number, i: number): Uint8Array {
  return new TextEncoder().encode(`input-${seed}-${i}`);
}

function finish(builder: TaskGraphBuilder, inputCount: number, options: ShapeOptions): JobSpec {
  if (options.commit) builder.commit(options.commitPolicy ? { policy: options.commitPolicy } : {});
  if (options.cleanup) builder.cleanup(options.cleanupPolicy ? { policy: options.cleanupPolicy } : {});
  const seed = options.seed ?? 0;
  return { builder, inputs: Array.from({ length: inputCount }, (_, i) => input(seed, i)) };
}

/** One task: one input, one output. */
export function singleTask(options: ShapeOptions = {}): JobSpec {
  const builder = new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [BYTES], taskFunc: simTaskFunc("single", 1), ...(options.policy ? { policy: options.policy } : {}) });
  return finish(builder, 1, options);
}

/** A → {B, C} → D; A has one input, D's output is the job output. */
export function diamond(options: ShapeOptions = {}): JobSpec {
  const policy = options.policy ? { policy: options.policy } : {};
  const builder = new TaskGraphBuilder()
    .task({ inputs: [BYTES], outputs: [BYTES, BYTES], taskFunc: simTaskFunc("a", 2), ...policy })
    .task({ outputs: [BYTES], sources: [[0, 0]], taskFunc: simTaskFunc("b", 1), ...policy })
    .task({ outputs: [BYTES], sources: [[0, 1]], taskFunc: simTaskFunc("c", 1), ...policy })
    .task({ outputs: [BYTES], sources: [[1, 0], [2, 0]], taskFunc: simTaskFunc("d", 1), ...policy });
  return finish(builder, 1, options);
}

/** `width` independent input tasks fanning into one reducer. */
export function wide(width: number, options: ShapeOptions = {}): JobSpec {
  const policy = options.policy ? { policy: options.policy } : {};
  const builder = new TaskGraphBuilder().tasksFrom(width, (i) => ({ inputs: [BYTES], outputs: [BYTES], taskFunc: simTaskFunc(`w${i}`, 1), ...policy }));
  builder.task({ outputs: [BYTES], sources: Array.from({ length: width }, (_, i) => [i, 0] as const), taskFunc: simTaskFunc("reduce", 1), ...policy });
  return finish(builder, width, options);
}

/** `count` independent tasks; every output is a job output. */
export function flat(count: number, options: ShapeOptions = {}): JobSpec {
  const policy = options.policy ? { policy: options.policy } : {};
  const builder = new TaskGraphBuilder().tasksFrom(count, (i) => ({ inputs: [BYTES], outputs: [BYTES], taskFunc: simTaskFunc(`f${i}`, 1), ...policy }));
  return finish(builder, count, options);
}

/** `layers` × `width` tasks; each task after the first layer reads `fanIn` random outputs of the previous layer. */
export function layered(layers: number, width: number, fanIn: number, random: () => number, options: ShapeOptions = {}): JobSpec {
  const policy = options.policy ? { policy: options.policy } : {};
  const builder = new TaskGraphBuilder().tasksFrom(width, (i) => ({ inputs: [BYTES], outputs: [BYTES], taskFunc: simTaskFunc(`l0_${i}`, 1), ...policy }));
  for (let layer = 1; layer < layers; layer++) {
    const previous = (layer - 1) * width;
    builder.tasksFrom(width, (i) => ({
      outputs: [BYTES],
      sources: Array.from({ length: fanIn }, () => [previous + Math.floor(random() * width), 0] as const),
      taskFunc: simTaskFunc(`l${layer}_${i}`, 1),
      ...policy,
    }));
  }
  return finish(builder, width, options);
}
