/**
 * The deterministic task function the simulated execution managers run, and
 * the oracle that computes a job's expected outputs from its graph and inputs
 * without the server. Each output payload is a hash of the task function name,
 * the output position and every input, so a wrong input anywhere upstream
 * changes the job's outputs.
 */
import { createHash } from "node:crypto";
import { graphOutputsOf, type TaskGraph } from "../../src/core/task-graph.ts";

export function runTaskFunction(taskFunc: string, inputs: readonly Uint8Array[], outputCount: number, salt = ""): Uint8Array[] {
  const outputs: Uint8Array[] = [];
  for (let position = 0; position < outputCount; position++) {
    const hash = createHash("sha256");
    hash.update(`${taskFunc}#${position}#${salt}`);
    for (const input of inputs) {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(input.length);
      hash.update(length);
      hash.update(input);
    }
    outputs.push(new Uint8Array(hash.digest().subarray(0, 16)));
  }
  return outputs;
}

/** A task function: outputs from the function name, the inputs and the output count. */
export type TaskFunction = (taskFunc: string, inputs: readonly Uint8Array[], outputCount: number) => Uint8Array[];

/** Expected job outputs: run every task in index order (sources always name earlier tasks). */
export function expectedJobOutputs(graph: TaskGraph, jobInputs: readonly Uint8Array[], run: TaskFunction = runTaskFunction): Uint8Array[] {
  const outputs: Uint8Array[][] = [];
  for (const task of graph.tasks) {
    const inputs =
      task.inputSources === null
        ? jobInputs.slice(task.graphInputOffset, task.graphInputOffset + task.inputCount)
        : task.inputSources.map((source) => outputs[source.taskIndex]![source.position]!);
    outputs.push(run(task.tdlContext.taskFunc, inputs, task.outputCount));
  }
  return graphOutputsOf(graph).map((source) => outputs[source.taskIndex]![source.position]!);
}
