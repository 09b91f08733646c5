/**
 * The oracle for non-deterministic tasks: a job's outputs are right when
 * every task took exactly one of its recorded executions (salts) and every
 * consumer read that same execution's outputs — never a mix of two runs of
 * one task. Depth-first over the tasks in index order (parents first),
 * pruning as soon as a task's graph outputs disagree. Used by the crash tests
 * and the chaos run.
 */
import { graphOutputsOf, type TaskGraph } from "../../src/core/task-graph.ts";
import { hex } from "./cluster.ts";
import { runTaskFunction } from "./oracle.ts";

export function outputsFromOneRunPerTask(graph: TaskGraph, jobInputs: readonly Uint8Array[], salts: readonly (readonly string[])[], actual: readonly string[]): boolean {
  const n = graph.tasks.length;
  const producedBy: number[][] = Array.from({ length: n }, () => []);
  const graphOutputs = graphOutputsOf(graph);
  graphOutputs.forEach((source, k) => producedBy[source.taskIndex]!.push(k));
  const outputs: Uint8Array[][] = new Array<Uint8Array[]>(n);
  const visit = (i: number): boolean => {
    if (i === n) return true;
    const task = graph.tasks[i]!;
    const inputs =
      task.inputSources === null
        ? jobInputs.slice(task.graphInputOffset, task.graphInputOffset + task.inputCount)
        : task.inputSources.map((s) => outputs[s.taskIndex]![s.position]!);
    for (const salt of salts[i] ?? []) {
      outputs[i] = runTaskFunction(task.tdlContext.taskFunc, inputs, task.outputCount, salt);
      const agrees = producedBy[i]!.every((k) => hex(outputs[i]![graphOutputs[k]!.position]!) === actual[k]);
      if (agrees && visit(i + 1)) return true;
    }
    return false;
  };
  return actual.length === graphOutputs.length && visit(0);
}
