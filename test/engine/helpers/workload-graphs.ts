/** The task graphs of the workload tests (spec §7.10), built with src/core's TaskGraphBuilder. */
import { BYTES, TaskGraphBuilder, type PolicyOptions, type SourceRef } from "../../../testkit/task-graph-builder.ts";

export const WORKLOAD_POLICY: PolicyOptions = { maxNumRetry: 3, maxNumInstances: 2 };

/** `count` independent tasks (one graph input and one output each), optionally with commit and cleanup. */
export function flatGraph(count: number, options: { policy?: PolicyOptions; termination?: boolean } = {}): TaskGraphBuilder {
  const builder = new TaskGraphBuilder().tasksFrom(count, () => ({
    inputs: [BYTES],
    outputs: [BYTES],
    ...(options.policy ? { policy: options.policy } : {}),
    taskFunc: "flat",
  }));
  if (options.termination) {
    builder.commit(options.policy ? { policy: options.policy } : {});
    builder.cleanup(options.policy ? { policy: options.policy } : {});
  }
  return builder;
}

/**
 * `layers` layers of `width` tasks: the first layer reads one graph input
 * each; every later task reads `fanIn` outputs picked at random (seeded) from
 * the previous layer. No termination tasks.
 */
export function layeredGraph(
  layers: number,
  width: number,
  fanIn: number,
  random: () => number,
  policy?: PolicyOptions,
): TaskGraphBuilder {
  const builder = new TaskGraphBuilder();
  for (let layer = 0; layer < layers; layer++) {
    const previous = (layer - 1) * width;
    for (let i = 0; i < width; i++) {
      const base = { outputs: [BYTES], taskFunc: `layer${layer}`, ...(policy ? { policy } : {}) };
      if (layer === 0) {
        builder.task({ ...base, inputs: [BYTES] });
      } else {
        const sources: SourceRef[] = [];
        for (let k = 0; k < fanIn; k++) sources.push([previous + Math.floor(random() * width), 0]);
        builder.task({ ...base, inputs: sources.map(() => BYTES), sources });
      }
    }
  }
  return builder;
}

/** A→{B,C}→D; each task one output. */
export function diamondGraph(options: { commit?: boolean; cleanup?: boolean; policy?: PolicyOptions } = {}): TaskGraphBuilder {
  const p = options.policy ? { policy: options.policy } : {};
  const builder = new TaskGraphBuilder()
    .task({ inputs: [BYTES], outputs: [BYTES], taskFunc: "A", ...p })
    .task({ outputs: [BYTES], sources: [[0, 0]], taskFunc: "B", ...p })
    .task({ outputs: [BYTES], sources: [[0, 0]], taskFunc: "C", ...p })
    .task({ outputs: [BYTES], sources: [[1, 0], [2, 0]], taskFunc: "D", ...p });
  if (options.commit) builder.commit();
  if (options.cleanup) builder.cleanup();
  return builder;
}
