/**
 * W1's job on spider-storage, the same in every mode and every process: one
 * task, one job input of 100 bytes (distinct per job), six 16-byte outputs —
 * a ~100-byte result written with the job's success (the simulated execution
 * manager computes the outputs from the inputs). The peers get a ~100-byte
 * payload and a ~100-byte result per job too (bench/peers/payload.ts).
 */
import { compressInputs } from "../../testkit/sim/cluster.ts";
import { runTaskFunction } from "../../testkit/sim/oracle.ts";
import { simTaskFunc } from "../../testkit/sim/simulated-execution-manager.ts";
import { BYTES, TaskGraphBuilder } from "../../testkit/task-graph-builder.ts";
import { encodeWireFrame } from "../../src/core/wire-frame.ts";

export const W1_PAYLOAD_BYTES = 100;
export const W1_OUTPUTS = 6;
const TASK_FUNC = simTaskFunc("w1", W1_OUTPUTS);

let graph: Uint8Array | undefined;

/** The compressed task graph every W1 job shares. */
export function w1Graph(): Uint8Array {
  graph ??= new TaskGraphBuilder().task({ inputs: [BYTES], outputs: Array.from({ length: W1_OUTPUTS }, () => BYTES), taskFunc: TASK_FUNC }).toCompressed();
  return graph;
}

export function w1Payload(index: number): Uint8Array {
  const head = `w1-job-${index}-`;
  return new TextEncoder().encode(head + "x".repeat(Math.max(0, W1_PAYLOAD_BYTES - head.length)));
}

/** The job's compressed inputs (one input: the 100-byte payload). */
export function w1Inputs(index: number): Uint8Array {
  return compressInputs([w1Payload(index)]);
}

/** Bytes of the result the execution manager reports for a W1 job (its serialized outputs). */
export function w1ResultBytes(): number {
  return encodeWireFrame(runTaskFunction(TASK_FUNC, [w1Payload(0)], W1_OUTPUTS)).length;
}
