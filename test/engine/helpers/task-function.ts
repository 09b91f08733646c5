/**
 * The deterministic "task function" the in-process simulated execution
 * managers run, and the oracle computing a job's expected outputs from its
 * graph and inputs: each output is a hash of the function name, the output
 * position and every input, stretched to the requested size, so a wrong input
 * anywhere upstream changes the job's outputs.
 */
import { createHash } from "node:crypto";
import type { TaskGraph } from "../../../src/core/task-graph.ts";
import { expectedJobOutputs } from "../../../testkit/sim/oracle.ts";

export function taskOutputs(taskFunc: string, inputs: readonly Uint8Array[], count: number, size = 16): Uint8Array[] {
  const outputs: Uint8Array[] = [];
  for (let position = 0; position < count; position++) {
    const hash = createHash("sha256");
    hash.update(`${taskFunc}#${position}`);
    for (const input of inputs) {
      hash.update(String(input.length));
      hash.update(input);
    }
    const digest = hash.digest();
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i += digest.length) out.set(digest.subarray(0, Math.min(digest.length, size - i)), i);
    outputs.push(out);
  }
  return outputs;
}

/** The job's expected outputs with this file's task function (payloads of `size` bytes). */
export function expectedOutputs(graph: TaskGraph, jobInputs: readonly Uint8Array[], size = 16): Uint8Array[] {
  return expectedJobOutputs(graph, jobInputs, (taskFunc, inputs, count) => taskOutputs(taskFunc, inputs, count, size));
}
