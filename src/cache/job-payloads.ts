/**
 * A job's payloads (spec §4.1): while it runs, the graph inputs then every
 * task's outputs in one flat array — a task's outputs start at its offset
 * after the inputs, so there is no object per task; once the job commits,
 * only the job outputs (SerializedTaskOutputs raw).
 *
 * Kept payloads are copies of their own size, never views into a request
 * (owned-bytes.ts), so the bytes counted here are the bytes held. The job
 * control block reports every change of {@link JobPayloads.held} to the
 * engine's payload budget (runtime.limits.max_cached_payload_bytes).
 */
import { internal } from "../core/errors.ts";
import type { DataflowSource, TaskGraph } from "../core/task-graph.ts";
import { encodeTaskOutputs } from "../core/task-outputs.ts";
import { encodeWireFrame } from "../core/wire-frame.ts";
import { packedCopies, retainedBufferBytes } from "./owned-bytes.ts";

export class JobPayloads {
  private readonly jobId: bigint;
  private readonly graph: TaskGraph;
  /** Offset of each task's first output in {@link flat}, after the graph inputs. */
  private readonly outputOffsets: Uint32Array;
  /** Graph inputs then task outputs (undefined until written); null once the job left Running. */
  private flat: (Uint8Array | undefined)[] | null;
  /** Bytes in {@link flat}, against the engine's per-job limit. */
  private flatBytes = 0;
  private committed: Uint8Array | null = null;

  /** `inputs`: the job inputs, in graph-input order (copied). */
  constructor(jobId: bigint, graph: TaskGraph, inputs: readonly Uint8Array[]) {
    this.jobId = jobId;
    this.graph = graph;
    const n = graph.tasks.length;
    this.outputOffsets = new Uint32Array(n);
    let outputs = 0;
    for (let i = 0; i < n; i++) {
      this.outputOffsets[i] = outputs;
      outputs += graph.tasks[i]!.outputCount;
    }
    const flat = new Array<Uint8Array | undefined>(graph.graphInputCount + outputs).fill(undefined);
    const kept = packedCopies(inputs);
    for (let i = 0; i < kept.length; i++) {
      flat[i] = kept[i];
      this.flatBytes += kept[i]!.length;
    }
    this.flat = flat;
  }

  /** Bytes of inputs and task outputs held while the job runs (the per-job limit counts these). */
  get taskDataBytes(): number {
    return this.flatBytes;
  }

  /** Bytes held in memory: inputs and task outputs while Running, then the job outputs. */
  get held(): number {
    return this.flatBytes + (this.committed?.length ?? 0);
  }

  /** Bytes of the buffers behind the held payloads: equal to {@link held} when nothing pins more. */
  retained(): number {
    return retainedBufferBytes([...(this.flat ?? []), this.committed]);
  }

  /** The job outputs (SerializedTaskOutputs raw), once committed. */
  get jobOutputs(): Uint8Array | null {
    return this.committed;
  }

  /** Keeps a task's outputs (copies). */
  writeOutputs(index: number, outputs: readonly Uint8Array[]): void {
    const flat = this.flat;
    if (flat === null) throw internal(`job ${this.jobId}: outputs written after the job left Running`);
    const base = this.graph.graphInputCount + this.outputOffsets[index]!;
    for (let p = 0; p < outputs.length; p++) {
      if (flat[base + p] !== undefined) throw internal(`job ${this.jobId}: task ${index} output ${p} written twice`);
    }
    const kept = packedCopies(outputs);
    for (let p = 0; p < kept.length; p++) {
      flat[base + p] = kept[p];
      this.flatBytes += kept[p]!.length;
    }
  }

  /** Forgets a task's outputs (its success was written tentatively and taken back). */
  clearOutputs(index: number): void {
    const flat = this.flat;
    if (flat === null) return;
    const base = this.graph.graphInputCount + this.outputOffsets[index]!;
    const count = this.graph.tasks[index]!.outputCount;
    for (let p = 0; p < count; p++) {
      this.flatBytes -= flat[base + p]?.length ?? 0;
      flat[base + p] = undefined;
    }
  }

  /** A regular task's inputs as one wire frame (what RegisterTaskInstance hands out). */
  readInputs(index: number): Uint8Array {
    const flat = this.flat;
    if (flat === null) throw internal(`job ${this.jobId}: inputs read after the job left Running`);
    const task = this.graph.tasks[index]!;
    const inputs: Uint8Array[] = new Array<Uint8Array>(task.inputCount);
    const sources = task.inputSources;
    for (let k = 0; k < task.inputCount; k++) {
      const payload = sources === null ? flat[task.graphInputOffset + k] : flat[this.positionOf(sources[k]!)];
      if (payload === undefined) throw internal(`job ${this.jobId}: task ${index} input ${k} is not available`);
      inputs[k] = payload;
    }
    return encodeWireFrame(inputs);
  }

  /** The job outputs, encoded from the outputs of the tasks without children; every task must have succeeded. */
  encodeJobOutputs(): Uint8Array {
    const flat = this.flat;
    if (flat === null) throw internal(`job ${this.jobId}: job outputs encoded after the job left Running`);
    return encodeTaskOutputs(this.graph.graphOutputs.map((source) => flat[this.positionOf(source)]!));
  }

  /** The job committed: keeps its outputs, lets go of inputs and task outputs. */
  commit(jobOutputs: Uint8Array): void {
    this.committed = jobOutputs;
    this.dropTaskData();
  }

  /** The job left Running: inputs and task outputs are never read again. */
  dropTaskData(): void {
    this.flat = null;
    this.flatBytes = 0;
  }

  private positionOf(source: DataflowSource): number {
    return this.graph.graphInputCount + this.outputOffsets[source.taskIndex]! + source.position;
  }
}
