/** A job's payloads: graph inputs packed in one buffer, task outputs by offset, job outputs at commit. */
import { describe, expect, it } from "vitest";
import { JobPayloads } from "../../../src/cache/job-payloads.ts";
import { decodeTaskOutputs } from "../../../src/core/task-outputs.ts";
import { decodeWireFrame } from "../../../src/core/wire-frame.ts";
import { BYTES, TaskGraphBuilder } from "../../../testkit/task-graph-builder.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);
const frame = (wire: Uint8Array) => decodeWireFrame(wire).map((payload) => [...payload]);

/** Task 0 takes two graph inputs, task 1 one (empty); task 2 takes task 0's output and task 1's two. */
function graph() {
  return new TaskGraphBuilder()
    .task({ inputs: [BYTES, BYTES], outputs: [BYTES] })
    .task({ inputs: [BYTES], outputs: [BYTES, BYTES] })
    .task({ sources: [[0, 0], [1, 1], [1, 0]], outputs: [BYTES] })
    .build();
}

describe("JobPayloads", () => {
  it("hands each input task its own graph inputs, an empty input included", () => {
    const payloads = new JobPayloads(1n, graph(), [bytes(1, 2), bytes(3), bytes()]);
    expect(frame(payloads.readInputs(0))).toEqual([[1, 2], [3]]);
    expect(frame(payloads.readInputs(1))).toEqual([[]]);
  });

  it("keeps the inputs in one buffer of their total size, a copy that pins nothing of the request", () => {
    const request = new Uint8Array(1_000).map((_, i) => i % 251);
    const payloads = new JobPayloads(1n, graph(), [request.subarray(10, 13), request.subarray(20, 22), request.subarray(30, 30)]);
    expect(payloads.held).toBe(5);
    expect(payloads.retained()).toBe(5); // one 5-byte buffer, not the 1 000-byte request
    request.fill(0);
    expect(frame(payloads.readInputs(0))).toEqual([[10, 11, 12], [20, 21]]);
  });

  it("feeds a task the outputs its input sources name, and counts them as held", () => {
    const payloads = new JobPayloads(1n, graph(), [bytes(1), bytes(2), bytes(3)]);
    payloads.writeOutputs(0, [bytes(7)]);
    payloads.writeOutputs(1, [bytes(8), bytes(9, 9)]);
    expect(frame(payloads.readInputs(2))).toEqual([[7], [9, 9], [8]]);
    expect(payloads.held).toBe(3 + 4);
    expect(payloads.retained()).toBe(3 + 4);
    payloads.clearOutputs(1);
    expect(payloads.held).toBe(3 + 1);
    expect(() => payloads.readInputs(2)).toThrow(/task 2 input 1 is not available/);
  });

  it("encodes the job outputs from the tasks without children, then lets go of inputs and task outputs", () => {
    const payloads = new JobPayloads(1n, graph(), [bytes(1), bytes(2), bytes(3)]);
    payloads.writeOutputs(0, [bytes(7)]);
    payloads.writeOutputs(1, [bytes(8), bytes(9)]);
    payloads.writeOutputs(2, [bytes(5, 5)]);
    const jobOutputs = payloads.encodeJobOutputs();
    expect(decodeTaskOutputs(jobOutputs, { maxOutputBytes: 1_000 }).map((p) => [...p])).toEqual([[5, 5]]);
    payloads.commit(jobOutputs);
    expect(payloads.held).toBe(jobOutputs.length);
    expect(payloads.retained()).toBe(jobOutputs.length);
    expect(() => payloads.readInputs(0)).toThrow(/inputs read after the job left Running/);
  });
});
