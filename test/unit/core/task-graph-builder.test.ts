/**
 * The task graph builder: produces the JSON Spider's client writes, infers
 * input types from sources, and its canned shapes parse as documented.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_EXECUTION_POLICY, decodeTaskGraph, graphOutputsOf, parseTaskGraphJson } from "../../../src/core/task-graph.ts";
import {
  BYTES,
  INT64,
  sharedValueType,
  TaskGraphBuilder,
  valueType,
  valueTypes,
} from "../../../testkit/task-graph-builder.ts";
import { expectInvalid } from "./helpers.ts";

describe("TaskGraphBuilder", () => {
  it("writes Spider's JSON: snake_case keys, no execution_policy unless given", () => {
    const json = new TaskGraphBuilder()
      .task({ inputs: [INT64], outputs: [INT64] })
      .task({ inputs: [INT64, INT64], outputs: [INT64], sources: [[0, 0], { taskIndex: 0, position: 0 }], package: "p", taskFunc: "add" })
      .commit()
      .cleanup({ taskFunc: "undo", policy: { maxNumRetry: 2, softTimeoutMs: 1000, hardTimeoutMs: 2000 } })
      .toObject();
    expect(json).toEqual({
      schema_version: "0.1.0",
      tasks: [
        { tdl_context: { package: "test_pkg", task_func: "task_0" }, inputs: [INT64], outputs: [INT64], input_sources: null },
        {
          tdl_context: { package: "p", task_func: "add" },
          inputs: [INT64, INT64],
          outputs: [INT64],
          input_sources: [
            { task_idx: 0, position: 0 },
            { task_idx: 0, position: 0 },
          ],
        },
      ],
      commit_task: { tdl_context: { package: "test_pkg", task_func: "commit" } },
      cleanup_task: {
        tdl_context: { package: "test_pkg", task_func: "undo" },
        execution_policy: { max_num_retry: 2, max_num_instances: 1, timeout_policy: { soft_timeout_ms: 1000, hard_timeout_ms: 2000 } },
      },
    });
    expect(INT64).toEqual({ Value: { Primitive: { Int: "Int64" } } });
  });

  it("round-trips through JSON and zstd into the parser", () => {
    const builder = new TaskGraphBuilder()
      .task({ inputs: [BYTES], outputs: [BYTES, INT64], policy: { maxNumInstances: 3 } })
      .task({ outputs: [INT64], sources: [[0, 1]] })
      .commit();
    const graph = builder.build();
    expect(parseTaskGraphJson(builder.toJson())).toEqual(graph);
    expect(decodeTaskGraph(builder.toCompressed(), { maxDecompressedBytes: 1 << 20 })).toEqual(graph);
    expect(graph.tasks[0]!.executionPolicy).toEqual({ ...DEFAULT_EXECUTION_POLICY, maxNumInstances: 3 });
    expect(graph.commitTask!.executionPolicy).toBe(DEFAULT_EXECUTION_POLICY);
    expect(graph.cleanupTask).toBeNull();
  });

  it("infers input types from the sources and refuses when it cannot", () => {
    const list = valueType(valueTypes.list(valueTypes.struct("Row")));
    const shared = sharedValueType(valueTypes.map("Bytes", valueTypes.float32));
    const builder = new TaskGraphBuilder().task({ outputs: [list, shared] }).task({ sources: [[0, 1], [0, 0]] });
    expect(builder.toObject().tasks[1]!.inputs).toEqual([shared, list]);
    expect(() => builder.task({ sources: [[0, 2]] })).toThrow(/cannot infer the type of source \[0, 2\] for task 2/);
    expect(() => builder.task({ sources: [[7, 0]] })).toThrow(/pass `inputs`/);
  });

  it("builds invalid graphs on request, for the parser to reject", () => {
    expectInvalid(() => new TaskGraphBuilder().task({ inputs: [INT64], sources: [[0, 0]] }).build(), "task 0, input 0");
    expectInvalid(() => new TaskGraphBuilder().task({ policy: { maxNumInstances: 0 } }).build(), "`max_num_instances` must be greater than 0");
  });

  it("returns a fresh object from toObject", () => {
    const builder = new TaskGraphBuilder().task({ outputs: [INT64] });
    builder.toObject().tasks.pop();
    expect(builder.toObject().tasks).toHaveLength(1);
    expect(builder.taskCount).toBe(1);
  });

  it("has canned shapes", () => {
    const chain = TaskGraphBuilder.chain(4).build();
    expect(chain.tasks.map((t) => t.parents)).toEqual([[], [0], [1], [2]]);
    expect([chain.graphInputCount, chain.graphOutputCount, chain.dependencyCount]).toEqual([1, 1, 3]);

    const fan = TaskGraphBuilder.fanOutFanIn(3).build();
    expect(fan.tasks.map((t) => t.children)).toEqual([[1, 2, 3], [4], [4], [4], []]);
    expect(fan.tasks[4]!.parents).toEqual([1, 2, 3]);
    expect(graphOutputsOf(fan)).toEqual([{ taskIndex: 4, position: 0 }]);
    expect(TaskGraphBuilder.fanOutFanIn(0).build().tasks).toHaveLength(1);

    const independent = TaskGraphBuilder.independent(3, BYTES).build();
    expect([independent.graphInputCount, independent.graphOutputCount]).toEqual([3, 3]);
    expect(independent.tasks.map((t) => t.graphInputOffset)).toEqual([0, 1, 2]);

    const many = new TaskGraphBuilder().tasksFrom(3, (i, index) => ({ outputs: [INT64], taskFunc: `f${i}@${index}` })).build();
    expect(many.tasks.map((t) => t.tdlContext.taskFunc)).toEqual(["f0@0", "f1@1", "f2@2"]);
  });
});
