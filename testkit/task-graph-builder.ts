/**
 * A fluent builder for Spider task graphs, producing exactly the JSON a Spider
 * client submits (spec §1.5) — for tests, the simulated clients and the
 * benchmarks. It checks nothing beyond what it needs to fill in defaults:
 * the parser is the judge, so a test can build an invalid graph on purpose
 * (or edit `toObject()`'s result) and see it rejected.
 *
 * ```ts
 * const graph = new TaskGraphBuilder()
 *   .task({ inputs: [INT64], outputs: [INT64] })                      // task 0: input task
 *   .task({ outputs: [INT64], sources: [[0, 0], [0, 0]] })            // task 1: inputs inferred
 *   .commit()
 *   .cleanup({ policy: { maxNumRetry: 2 } });
 * graph.toJson(); graph.toCompressed(); graph.build(); // string, zstd bytes, parsed TaskGraph
 * ```
 */
import { TASK_GRAPH_SCHEMA_VERSION } from "../src/core/schema-version.ts";
import { DEFAULT_EXECUTION_POLICY, parseTaskGraphJson, type TaskGraph } from "../src/core/task-graph.ts";
import { compressZstd } from "../src/core/zstd.ts";

/** A JSON value of Spider's DataTypeDescriptor, e.g. `{"Value":{"Primitive":{"Int":"Int64"}}}`. */
export type TypeDescriptorJson = { readonly [variant: string]: unknown };
/** A JSON value of Spider's ValueTypeDescriptor (the part inside "Value"/"SharedValue"). */
export type ValueTypeJson = { readonly [variant: string]: unknown };

/** ValueTypeDescriptor constructors. */
export const valueTypes = {
  int8: { Primitive: { Int: "Int8" } },
  int16: { Primitive: { Int: "Int16" } },
  int32: { Primitive: { Int: "Int32" } },
  int64: { Primitive: { Int: "Int64" } },
  float32: { Primitive: { Float: "Float32" } },
  float64: { Primitive: { Float: "Float64" } },
  boolean: { Primitive: "Boolean" },
  bytes: { Bytes: {} },
  struct: (name: string): ValueTypeJson => ({ Struct: name }),
  list: (element: ValueTypeJson): ValueTypeJson => ({ List: element }),
  map: (key: "Int8" | "Int16" | "Int32" | "Int64" | "Bytes", value: ValueTypeJson): ValueTypeJson => ({
    Map: { key: key === "Bytes" ? { Bytes: {} } : { Int: key }, value },
  }),
} as const;

export function valueType(value: ValueTypeJson): TypeDescriptorJson {
  return { Value: value };
}

export function sharedValueType(value: ValueTypeJson): TypeDescriptorJson {
  return { SharedValue: value };
}

export const INT64: TypeDescriptorJson = valueType(valueTypes.int64);
export const BYTES: TypeDescriptorJson = valueType(valueTypes.bytes);

/** An input source: `[taskIndex, position]` or `{ taskIndex, position }`. */
export type SourceRef = readonly [taskIndex: number, position: number] | { readonly taskIndex: number; readonly position: number };

/** Execution policy options; anything omitted takes Spider's default. */
export interface PolicyOptions {
  readonly maxNumRetry?: number;
  readonly maxNumInstances?: number;
  readonly softTimeoutMs?: number;
  readonly hardTimeoutMs?: number;
}

export interface TaskSpec {
  /** Input types. Default: inferred from `sources` (the named outputs' types), else none. */
  readonly inputs?: readonly TypeDescriptorJson[];
  /** Output types. Default: none. */
  readonly outputs?: readonly TypeDescriptorJson[];
  /** Where each input comes from. Omitted or null: an input task (its inputs are graph inputs). */
  readonly sources?: readonly SourceRef[] | null;
  /** TDL package. Default "test_pkg". */
  readonly package?: string;
  /** TDL function. Default `task_<index>`. */
  readonly taskFunc?: string;
  /** Written out as an explicit `execution_policy` when given. */
  readonly policy?: PolicyOptions;
}

export interface TerminationSpec {
  readonly package?: string;
  /** Default "commit" / "cleanup". */
  readonly taskFunc?: string;
  readonly policy?: PolicyOptions;
}

/** The JSON object Spider's client serializes (snake_case keys). */
export interface TaskGraphJson {
  schema_version: string;
  tasks: TaskDescriptorJson[];
  commit_task: TerminationDescriptorJson | null;
  cleanup_task: TerminationDescriptorJson | null;
}
export interface TaskDescriptorJson {
  tdl_context: { package: string; task_func: string };
  execution_policy?: ExecutionPolicyJson;
  inputs: TypeDescriptorJson[];
  outputs: TypeDescriptorJson[];
  input_sources: { task_idx: number; position: number }[] | null;
}
export interface TerminationDescriptorJson {
  tdl_context: { package: string; task_func: string };
  execution_policy?: ExecutionPolicyJson;
}
export interface ExecutionPolicyJson {
  max_num_retry: number;
  max_num_instances: number;
  timeout_policy: { soft_timeout_ms: number; hard_timeout_ms: number };
}

const DEFAULT_PACKAGE = "test_pkg";

function policyJson(policy: PolicyOptions): ExecutionPolicyJson {
  const d = DEFAULT_EXECUTION_POLICY;
  return {
    max_num_retry: policy.maxNumRetry ?? d.maxNumRetry,
    max_num_instances: policy.maxNumInstances ?? d.maxNumInstances,
    timeout_policy: {
      soft_timeout_ms: policy.softTimeoutMs ?? d.timeoutPolicy.softTimeoutMs,
      hard_timeout_ms: policy.hardTimeoutMs ?? d.timeoutPolicy.hardTimeoutMs,
    },
  };
}

function sourceJson(source: SourceRef): { task_idx: number; position: number } {
  return "taskIndex" in source
    ? { task_idx: source.taskIndex, position: source.position }
    : { task_idx: source[0], position: source[1] };
}

export class TaskGraphBuilder {
  private readonly tasks: TaskDescriptorJson[] = [];
  private commitTask: TerminationDescriptorJson | null = null;
  private cleanupTask: TerminationDescriptorJson | null = null;

  /** Number of tasks added so far (the index the next task gets). */
  get taskCount(): number {
    return this.tasks.length;
  }

  /** Appends a task; its index is the number of tasks before it. */
  task(spec: TaskSpec = {}): this {
    const index = this.tasks.length;
    const sources = spec.sources ?? null;
    const inputs = spec.inputs ?? (sources === null ? [] : sources.map((s) => this.outputType(s, index)));
    const descriptor: TaskDescriptorJson = {
      tdl_context: { package: spec.package ?? DEFAULT_PACKAGE, task_func: spec.taskFunc ?? `task_${index}` },
      inputs: [...inputs],
      outputs: [...(spec.outputs ?? [])],
      input_sources: sources === null ? null : sources.map(sourceJson),
    };
    if (spec.policy !== undefined) {
      descriptor.execution_policy = policyJson(spec.policy);
    }
    this.tasks.push(descriptor);
    return this;
  }

  /** Adds `count` tasks built by `spec(i)` (i = 0…count-1, relative; the task's index is taskCount at the time). */
  tasksFrom(count: number, spec: (i: number, index: number) => TaskSpec): this {
    for (let i = 0; i < count; i += 1) {
      this.task(spec(i, this.tasks.length));
    }
    return this;
  }

  commit(spec: TerminationSpec = {}): this {
    this.commitTask = terminationJson(spec, "commit");
    return this;
  }

  cleanup(spec: TerminationSpec = {}): this {
    this.cleanupTask = terminationJson(spec, "cleanup");
    return this;
  }

  /** A fresh copy of the JSON object (safe to edit, e.g. to make it invalid). */
  toObject(): TaskGraphJson {
    return structuredClone({
      schema_version: TASK_GRAPH_SCHEMA_VERSION,
      tasks: this.tasks,
      commit_task: this.commitTask,
      cleanup_task: this.cleanupTask,
    });
  }

  toJson(): string {
    return JSON.stringify({
      schema_version: TASK_GRAPH_SCHEMA_VERSION,
      tasks: this.tasks,
      commit_task: this.commitTask,
      cleanup_task: this.cleanupTask,
    });
  }

  /** zstd-compressed JSON, as `RegisterJobRequest.compressed_serialized_task_graph` carries it. */
  toCompressed(level?: number): Uint8Array<ArrayBuffer> {
    return compressZstd(new TextEncoder().encode(this.toJson()), level);
  }

  /** Parses the JSON (throws StorageError if the graph is invalid). */
  build(): TaskGraph {
    return parseTaskGraphJson(this.toJson());
  }

  /** A chain of `length` tasks, each passing one value to the next (1 graph input, 1 job output). */
  static chain(length: number, type: TypeDescriptorJson = INT64): TaskGraphBuilder {
    const builder = new TaskGraphBuilder();
    for (let i = 0; i < length; i += 1) {
      builder.task(i === 0 ? { inputs: [type], outputs: [type] } : { outputs: [type], sources: [[i - 1, 0]] });
    }
    return builder;
  }

  /**
   * Fan-out / fan-in: task 0 takes one graph input, `width` tasks each read
   * its output, and a last task reads all of theirs (1 graph input, 1 job output).
   */
  static fanOutFanIn(width: number, type: TypeDescriptorJson = INT64): TaskGraphBuilder {
    const builder = new TaskGraphBuilder().task({ inputs: [type], outputs: [type] });
    for (let i = 0; i < width; i += 1) {
      builder.task({ outputs: [type], sources: [[0, 0]] });
    }
    const fanIn = Array.from({ length: width }, (_, i): SourceRef => [i + 1, 0]);
    return width === 0 ? builder : builder.task({ outputs: [type], sources: fanIn });
  }

  /** `count` independent input tasks, each one input and one output (count graph inputs and job outputs). */
  static independent(count: number, type: TypeDescriptorJson = INT64): TaskGraphBuilder {
    return new TaskGraphBuilder().tasksFrom(count, () => ({ inputs: [type], outputs: [type] }));
  }

  private outputType(source: SourceRef, index: number): TypeDescriptorJson {
    const [taskIndex, position] = "taskIndex" in source ? [source.taskIndex, source.position] : source;
    const type = this.tasks[taskIndex]?.outputs[position];
    if (type === undefined || taskIndex >= index) {
      throw new Error(
        `TaskGraphBuilder: cannot infer the type of source [${taskIndex}, ${position}] for task ${index}; pass \`inputs\``,
      );
    }
    return type;
  }
}

function terminationJson(spec: TerminationSpec, defaultFunc: string): TerminationDescriptorJson {
  const descriptor: TerminationDescriptorJson = {
    tdl_context: { package: spec.package ?? DEFAULT_PACKAGE, task_func: spec.taskFunc ?? defaultFunc },
  };
  if (spec.policy !== undefined) {
    descriptor.execution_policy = policyJson(spec.policy);
  }
  return descriptor;
}
