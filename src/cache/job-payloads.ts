/**
 * A job's payloads (spec §4.1): while it runs, the graph inputs packed into
 * one buffer with an end offset per input (no object per input: a view costs
 * about 100 bytes of heap, more than a typical input), and every task's
 * outputs in one flat array — a task's outputs start at its offset, so there
 * is no object per task; once the job commits, only the job outputs
 * (SerializedTaskOutputs raw).
 *
 * Kept payloads are copies of their own size, never views into a request
 * (owned-bytes.ts), so the bytes counted here are the bytes held. The job
 * control block reports every change of {@link JobPayloads.held} to the
 * engine's payload budget (runtime.limits.max_cached_payload_bytes).
 */
import { internal } from "../core/errors.ts";
import { graphOutputsOf, type DataflowSource, type TaskGraph } from "../core/task-graph.ts";
import { encodeTaskOutputs } from "../core/task-outputs.ts";
import { encodeWireFrame } from "../core/wire-frame.ts";
import { packedCopies, retainedBufferBytes } from "./owned-bytes.ts";

const NO_INPUTS = new Uint8Array(0);
const NO_INPUT_ENDS = new Uint32Array(0);

export class JobPayloads {
  private readonly jobId: bigint;
  private readonly graph: TaskGraph;
  /** Offset of each task's first output in {@link outputs}. */
  private readonly outputOffsets: Uint32Array;
  /** The graph inputs, back to back in a buffer of their own; empty once the job left Running. */
  private inputBytes: Uint8Array;
  /** End of graph input i in {@link inputBytes} (it starts where input i − 1 ends); empty once the job left Running. */
  private inputEnds: Uint32Array;
  /** Task outputs (undefined until written); null once the job left Running. */
  private outputs: (Uint8Array | undefined)[] | null;
  /** Bytes of inputs and outputs held, against the engine's per-job limit. */
  private heldWhileRunning = 0;
  private committed: Uint8Array | null = null;

  /** `inputs`: the job inputs, in graph-input order (copied). */
  constructor(jobId: bigint, graph: TaskGraph, inputs: readonly Uint8Array[]) {
    this.jobId = jobId;
    this.graph = graph;
    const n = graph.tasks.length;
    this.outputOffsets = new Uint32Array(n);
    let outputCount = 0;
    for (let i = 0; i < n; i++) {
      this.outputOffsets[i] = outputCount;
      outputCount += graph.tasks[i]!.outputCount;
    }
    this.outputs = new Array<Uint8Array | undefined>(outputCount).fill(undefined);
    this.inputEnds = new Uint32Array(inputs.length);
    let total = 0;
    for (let i = 0; i < inputs.length; i++) {
      total += inputs[i]!.length;
      this.inputEnds[i] = total;
    }
    // A copy of exactly their size: the inputs arrive as views into the whole decompressed request.
    this.inputBytes = new Uint8Array(total);
    for (let i = 0; i < inputs.length; i++) this.inputBytes.set(inputs[i]!, i === 0 ? 0 : this.inputEnds[i - 1]!);
    this.heldWhileRunning = total;
  }

  /** Bytes of inputs and task outputs held while the job runs (the per-job limit counts these). */
  get taskDataBytes(): number {
    return this.heldWhileRunning;
  }

  /** Bytes held in memory: inputs and task outputs while Running, then the job outputs. */
  get held(): number {
    return this.heldWhileRunning + (this.committed?.length ?? 0);
  }

  /** Bytes of the buffers behind the held payloads: equal to {@link held} when nothing pins more. */
  retained(): number {
    return (this.outputs === null ? 0 : this.inputBytes.buffer.byteLength) + retainedBufferBytes([...(this.outputs ?? []), this.committed]);
  }

  /** The job outputs (SerializedTaskOutputs raw), once committed. */
  get jobOutputs(): Uint8Array | null {
    return this.committed;
  }

  /** Keeps a task's outputs (copies). */
  writeOutputs(index: number, written: readonly Uint8Array[]): void {
    const outputs = this.outputs;
    if (outputs === null) throw internal(`job ${this.jobId}: outputs written after the job left Running`);
    const base = this.outputOffsets[index]!;
    for (let p = 0; p < written.length; p++) {
      if (outputs[base + p] !== undefined) throw internal(`job ${this.jobId}: task ${index} output ${p} written twice`);
    }
    const kept = packedCopies(written);
    for (let p = 0; p < kept.length; p++) {
      outputs[base + p] = kept[p];
      this.heldWhileRunning += kept[p]!.length;
    }
  }

  /** Forgets a task's outputs (its success was written tentatively and taken back). */
  clearOutputs(index: number): void {
    const outputs = this.outputs;
    if (outputs === null) return;
    const base = this.outputOffsets[index]!;
    const count = this.graph.tasks[index]!.outputCount;
    for (let p = 0; p < count; p++) {
      this.heldWhileRunning -= outputs[base + p]?.length ?? 0;
      outputs[base + p] = undefined;
    }
  }

  /** A regular task's inputs as one wire frame (what RegisterTaskInstance hands out). */
  readInputs(index: number): Uint8Array {
    const outputs = this.outputs;
    if (outputs === null) throw internal(`job ${this.jobId}: inputs read after the job left Running`);
    const task = this.graph.tasks[index]!;
    const inputs: Uint8Array[] = new Array<Uint8Array>(task.inputCount);
    const sources = task.inputSources;
    for (let k = 0; k < task.inputCount; k++) {
      const payload = sources === null ? this.graphInput(task.graphInputOffset + k) : outputs[this.positionOf(sources[k]!)];
      if (payload === undefined) throw internal(`job ${this.jobId}: task ${index} input ${k} is not available`);
      inputs[k] = payload;
    }
    return encodeWireFrame(inputs);
  }

  /** The job outputs, encoded from the outputs of the tasks without children; every task must have succeeded. */
  encodeJobOutputs(): Uint8Array {
    const outputs = this.outputs;
    if (outputs === null) throw internal(`job ${this.jobId}: job outputs encoded after the job left Running`);
    return encodeTaskOutputs(graphOutputsOf(this.graph).map((source) => outputs[this.positionOf(source)]!));
  }

  /** The job committed: keeps its outputs, lets go of inputs and task outputs. */
  commit(jobOutputs: Uint8Array): void {
    this.committed = jobOutputs;
    this.dropTaskData();
  }

  /** The job left Running: inputs and task outputs are never read again. */
  dropTaskData(): void {
    this.outputs = null;
    this.inputBytes = NO_INPUTS;
    this.inputEnds = NO_INPUT_ENDS;
    this.heldWhileRunning = 0;
  }

  /** Graph input i, a view of {@link inputBytes} made when asked (kept views would cost more than the bytes). */
  private graphInput(i: number): Uint8Array | undefined {
    if (i >= this.inputEnds.length) return undefined;
    return this.inputBytes.subarray(i === 0 ? 0 : this.inputEnds[i - 1]!, this.inputEnds[i]!);
  }

  private positionOf(source: DataflowSource): number {
    return this.outputOffsets[source.taskIndex]! + source.position;
  }
}
