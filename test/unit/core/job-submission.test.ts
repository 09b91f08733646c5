/**
 * Job submission (spec §7.2, Spider's job_submission.rs tests) plus this
 * service's limits: decompression budget, tasks and dependencies per job.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_SUBMISSION_LIMITS, validateJobSubmission, type SubmissionLimits } from "../../../src/core/job-submission.ts";
import { compressJobInputs } from "../../../testkit/job-inputs.ts";
import { BYTES, INT64, TaskGraphBuilder } from "../../../testkit/task-graph-builder.ts";
import { TaskGraphCache } from "../../../src/core/task-graph-cache.ts";
import { encodeWireFrame } from "../../../src/core/wire-frame.ts";
import { compressZstd } from "../../../src/core/zstd.ts";
import { bytes, concat, expectInvalid, utf8 } from "./helpers.ts";

/** Spider's create_single_input_task_graph: one task, one Bytes input, no outputs, explicit default policy. */
function singleInputGraph(): Uint8Array {
  return new TaskGraphBuilder().task({ inputs: [BYTES], outputs: [], policy: {} }).toCompressed();
}

describe("validateJobSubmission (§7.2)", () => {
  it("accepts a one-task graph with one input (valid_job_submission_succeeds, into_parts)", () => {
    const input = new Uint8Array(4).fill(1);
    const submission = validateJobSubmission(singleInputGraph(), compressJobInputs([input]));
    expect(submission.graph.tasks).toHaveLength(1);
    expect(submission.inputs).toEqual([input]);
    expect(Object.isFrozen(submission)).toBe(true);
  });

  it("rejects an empty graph (empty_task_graph_fails)", () => {
    const empty = new TaskGraphBuilder().toCompressed();
    expect(expectInvalid(() => validateJobSubmission(empty, compressJobInputs([]))).message).toBe("task graph must contain at least one task");
  });

  it("rejects a wrong number of inputs (mismatched_input_count_fails)", () => {
    expect(expectInvalid(() => validateJobSubmission(singleInputGraph(), compressJobInputs([]))).message).toBe(
      "task graph input size mismatch: expected 1, got 0",
    );
    const two = new TaskGraphBuilder().task({ inputs: [INT64, INT64], outputs: [INT64] }).task({ inputs: [INT64] }).toCompressed();
    expectInvalid(() => validateJobSubmission(two, compressJobInputs([utf8("a"), utf8("b")])), "expected 3, got 2");
    expect(validateJobSubmission(two, compressJobInputs([utf8("a"), utf8("b"), utf8("c")])).inputs).toHaveLength(3);
  });

  it("accepts a graph without inputs and an empty input frame", () => {
    const graph = new TaskGraphBuilder().task({ outputs: [INT64] }).toCompressed();
    expect(validateJobSubmission(graph, compressJobInputs([])).inputs).toEqual([]);
  });

  it("rejects bad graph bytes before looking at the inputs", () => {
    expectInvalid(() => validateJobSubmission(utf8("nope"), utf8("also nope")), "task graph is not valid zstd data");
    expectInvalid(() => validateJobSubmission(new Uint8Array(), compressJobInputs([])), "task graph is empty");
    expectInvalid(() => validateJobSubmission(compressZstd(utf8("{}")), utf8("x")), "invalid task graph: missing field `schema_version`");
  });

  it("rejects bad input bytes", () => {
    expectInvalid(() => validateJobSubmission(singleInputGraph(), new Uint8Array()), "job inputs is empty");
    expectInvalid(() => validateJobSubmission(singleInputGraph(), utf8("not zstd")), "job inputs is not valid zstd data");
    expectInvalid(() => validateJobSubmission(singleInputGraph(), compressZstd(bytes(1, 0))), "job inputs: buffer too small for the payload count header");
    expectInvalid(() => validateJobSubmission(singleInputGraph(), compressZstd(bytes(1, 0, 0, 0, 9, 0, 0, 0))), "job inputs: unexpected end of buffer");
  });

  it("accepts inputs split over several zstd frames, with trailing frame bytes ignored", () => {
    const frame = concat(encodeWireFrame([utf8("payload")]), utf8("ignored"));
    const split = concat(compressZstd(frame.subarray(0, 6)), compressZstd(frame.subarray(6)));
    expect(validateJobSubmission(singleInputGraph(), split).inputs).toEqual([utf8("payload")]);
  });
});

describe("limits", () => {
  const limits = (overrides: Partial<SubmissionLimits>): SubmissionLimits => ({ ...DEFAULT_SUBMISSION_LIMITS, ...overrides });

  it("has the documented defaults", () => {
    expect(DEFAULT_SUBMISSION_LIMITS).toEqual({
      maxDecompressedBytes: 64 * 1024 * 1024,
      maxTasks: 3_000,
      maxDependencies: 20_000,
      maxZstdFrames: 64,
      maxTaskGraphValues: 64_000,
      maxTaskGraphBytes: 8 * 1024 * 1024,
    });
  });

  it("rejects more tasks than the limit, naming it", () => {
    const graph = TaskGraphBuilder.chain(5).toCompressed();
    const inputs = compressJobInputs([utf8("x")]);
    expect(validateJobSubmission(graph, inputs, limits({ maxTasks: 5 })).graph.tasks).toHaveLength(5);
    expect(expectInvalid(() => validateJobSubmission(graph, inputs, limits({ maxTasks: 4 }))).message).toBe(
      "task graph has 5 tasks, above the limit of 4 (runtime.limits.max_tasks_per_job)",
    );
  });

  it("rejects more dependencies than the limit, naming it", () => {
    const graph = TaskGraphBuilder.fanOutFanIn(3).toCompressed(); // 3 + 3 edges
    const inputs = compressJobInputs([utf8("x")]);
    expect(validateJobSubmission(graph, inputs, limits({ maxDependencies: 6 })).graph.dependencyCount).toBe(6);
    expect(expectInvalid(() => validateJobSubmission(graph, inputs, limits({ maxDependencies: 5 }))).message).toBe(
      "task graph has 6 dependencies, above the limit of 5 (runtime.limits.max_dependencies_per_job)",
    );
  });

  it("bounds the decompressed graph and inputs, naming the limit", () => {
    const json = new TaskGraphBuilder().task({ inputs: [BYTES] }).toJson();
    const graph = compressZstd(utf8(json));
    const inputs = compressJobInputs([new Uint8Array(1000)]);
    expect(validateJobSubmission(graph, inputs, limits({ maxDecompressedBytes: 1008 })).inputs[0]).toHaveLength(1000);
    expectInvalid(
      () => validateJobSubmission(graph, inputs, limits({ maxDecompressedBytes: 1007 })),
      "job inputs decompresses to more than 1007 bytes, above the limit of 1007 bytes (runtime.limits.max_decompressed_bytes)",
    );
    expectInvalid(
      () => validateJobSubmission(graph, inputs, limits({ maxDecompressedBytes: json.length - 1 })),
      `task graph decompresses to more than ${json.length - 1} bytes`,
    );
  });
});

describe("with a cache", () => {
  it("shares one parsed graph between submissions", () => {
    const cache = new TaskGraphCache();
    const graph = singleInputGraph();
    const a = validateJobSubmission(graph, compressJobInputs([utf8("1")]), DEFAULT_SUBMISSION_LIMITS, cache);
    const b = validateJobSubmission(graph.slice(), compressJobInputs([utf8("2")]), DEFAULT_SUBMISSION_LIMITS, cache);
    expect(b.graph).toBe(a.graph);
    expect(b.inputs).toEqual([utf8("2")]);
    expect(cache.hits).toBe(1);
    expect(cache.misses).toBe(1);
    expectInvalid(() => validateJobSubmission(graph, compressJobInputs([]), DEFAULT_SUBMISSION_LIMITS, cache), "expected 1, got 0");
  });
});

describe("compressJobInputs", () => {
  it("is zstd of the wire frame", () => {
    const payloads = [utf8("a"), new Uint8Array(0), new Uint8Array(2000).fill(3)];
    const compressed = compressJobInputs(payloads);
    expect([...compressed.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    const graph = new TaskGraphBuilder().task({ inputs: [BYTES, BYTES, BYTES] }).toCompressed();
    expect(validateJobSubmission(graph, compressed).inputs).toEqual(payloads);
  });
});
