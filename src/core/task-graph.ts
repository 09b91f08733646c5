/**
 * Spider's task graph (spec §1.5): parsing and validating the zstd-compressed
 * JSON a client submits, and the immutable structure the rest of the service
 * works from. Every returned object is deeply frozen, so one parsed graph can
 * be shared by every job submitted with the same bytes (see
 * task-graph-cache.ts).
 *
 * Checks run in Spider's order: JSON syntax; the top level (exactly the four
 * keys, no duplicates, `schema_version` a string); missing `schema_version` /
 * `tasks`; the schema version (so an incompatible version wins over a
 * malformed task list); the commit and cleanup descriptors and their policies;
 * the shape of every task; then each task in index order (policy, input
 * sources, types). Errors are StorageError("invalid_argument") whose message
 * starts "invalid task graph:" and names the rule and where.
 */
import { invalidArgument, isStorageError } from "./errors.ts";
import {
  describeJson,
  JsonPath,
  readArray,
  readString,
  readStruct,
  readUnsigned,
  requireField,
} from "./json-fields.ts";
import { MAX_QUOTED_CHARS, quoteInput } from "./quote-input.ts";
import { checkTaskGraphSchemaVersion } from "./schema-version.ts";
import { decodeUtf8Strict, duplicateKeysOf, isJsonObject, parseStrictJson, type JsonValue } from "./strict-json.ts";
import { TypeInterner, type CanonicalType } from "./type-descriptor.ts";
import { decompressZstd, decompressZstdAsync, type DecompressOptions } from "./zstd.ts";

export interface TdlContext {
  readonly package: string;
  readonly taskFunc: string;
}
export interface TimeoutPolicy {
  readonly softTimeoutMs: number;
  readonly hardTimeoutMs: number;
}
export interface ExecutionPolicy {
  readonly maxNumRetry: number;
  readonly maxNumInstances: number;
  readonly timeoutPolicy: TimeoutPolicy;
}
export interface DataflowSource {
  readonly taskIndex: number;
  readonly position: number;
}
export interface TaskDescriptor {
  readonly index: number;
  readonly tdlContext: TdlContext;
  readonly executionPolicy: ExecutionPolicy;
  readonly inputCount: number;
  readonly outputCount: number;
  /** null for an input task (all inputs are graph inputs) */
  readonly inputSources: readonly DataflowSource[] | null;
  /** for input tasks: index in the job's inputs of this task's first input; -1 otherwise */
  readonly graphInputOffset: number;
  readonly parents: readonly number[]; // distinct, ascending
  readonly children: readonly number[]; // distinct, ascending
}
export interface TerminationTaskDescriptor {
  readonly tdlContext: TdlContext;
  readonly executionPolicy: ExecutionPolicy;
}
export interface TaskGraph {
  readonly tasks: readonly TaskDescriptor[];
  readonly commitTask: TerminationTaskDescriptor | null;
  readonly cleanupTask: TerminationTaskDescriptor | null;
  readonly graphInputCount: number;
  /** how many job outputs there are (what {@link graphOutputsOf} lists) */
  readonly graphOutputCount: number;
  /** total number of dependency edges (input sources), for graph-size limits */
  readonly dependencyCount: number;
}

/** Timeout bounds, inclusive (Spider's MIN_TIMEOUT_MS / MAX_TIMEOUT_MS). */
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_EXECUTION_POLICY: ExecutionPolicy = Object.freeze({
  maxNumRetry: 0,
  maxNumInstances: 1,
  timeoutPolicy: Object.freeze({ softTimeoutMs: 150_000, hardTimeoutMs: 300_000 }),
});

const TOP_LEVEL_FIELDS = ["schema_version", "tasks", "commit_task", "cleanup_task"] as const;
const TASK_FIELDS = ["tdl_context", "execution_policy", "inputs", "outputs", "input_sources"];
const TERMINATION_FIELDS = ["tdl_context", "execution_policy"];
const TDL_FIELDS = ["package", "task_func"];
const POLICY_FIELDS = ["max_num_retry", "max_num_instances", "timeout_policy"];
const TIMEOUT_FIELDS = ["soft_timeout_ms", "hard_timeout_ms"];
const SOURCE_FIELDS = ["task_idx", "position"];

const EMPTY: readonly number[] = Object.freeze([]);

/** Bounds on the graph's JSON text, checked by a scan before anything is built. */
export interface TaskGraphJsonLimits {
  /** Most JSON values (objects, arrays, strings, numbers, literals). */
  readonly maxJsonValues?: number;
  /** The configuration key behind `maxJsonValues`, named in the error. */
  readonly jsonValuesLimitName?: string;
}

/** Parses and validates the (decompressed) task graph JSON. */
export function parseTaskGraphJson(json: string | Uint8Array, limits: TaskGraphJsonLimits = {}): TaskGraph {
  const text = typeof json === "string" ? json : decodeUtf8Strict(json, "task graph");
  const root = parseStrictJson(text, "task graph", {
    ...(limits.maxJsonValues === undefined ? {} : { maxValues: limits.maxJsonValues }),
    ...(limits.jsonValuesLimitName === undefined ? {} : { limitName: limits.jsonValuesLimitName }),
  });
  try {
    return buildTaskGraph(root);
  } catch (error) {
    if (isStorageError(error, "invalid_argument")) {
      throw invalidArgument(`invalid task graph: ${error.message}`, error.cause);
    }
    throw error;
  }
}

export interface DecodeTaskGraphOptions extends TaskGraphJsonLimits {
  /** Budget for the decompressed JSON. */
  readonly maxDecompressedBytes: number;
  /** The configuration key behind the budget, named in the error when it is exceeded. */
  readonly limitName?: string;
  /** Most zstd frames; default DEFAULT_MAX_ZSTD_FRAMES. */
  readonly maxZstdFrames?: number;
  /** The configuration key behind `maxZstdFrames`, named in the error. */
  readonly zstdFramesLimitName?: string;
}

/** What decompressing a `compressed_serialized_task_graph` takes: the budget and the frame cap. */
export function taskGraphZstdOptions(options: DecodeTaskGraphOptions): DecompressOptions {
  return {
    maxOutputBytes: options.maxDecompressedBytes,
    what: "task graph",
    ...(options.limitName === undefined ? {} : { limitName: options.limitName }),
    ...(options.maxZstdFrames === undefined ? {} : { maxFrames: options.maxZstdFrames }),
    ...(options.zstdFramesLimitName === undefined ? {} : { framesLimitName: options.zstdFramesLimitName }),
  };
}

/** Decompresses a `compressed_serialized_task_graph` under the budget and frame cap. */
export function decompressTaskGraph(compressed: Uint8Array, options: DecodeTaskGraphOptions): Uint8Array<ArrayBuffer> {
  return decompressZstd(compressed, taskGraphZstdOptions(options));
}

/** {@link decompressTaskGraph} with the frames decoded off the event loop. */
export function decompressTaskGraphAsync(compressed: Uint8Array, options: DecodeTaskGraphOptions): Promise<Uint8Array<ArrayBuffer>> {
  return decompressZstdAsync(compressed, taskGraphZstdOptions(options));
}

/** Decompresses (under the budget) and parses a `compressed_serialized_task_graph`. */
export function decodeTaskGraph(compressed: Uint8Array, options: DecodeTaskGraphOptions): TaskGraph {
  return parseTaskGraphJson(decompressTaskGraph(compressed, options), options);
}

/** {@link decodeTaskGraph} with the decompression off the event loop (request paths). */
export async function decodeTaskGraphAsync(compressed: Uint8Array, options: DecodeTaskGraphOptions): Promise<TaskGraph> {
  return parseTaskGraphJson(await decompressTaskGraphAsync(compressed, options), options);
}

// ---------------------------------------------------------------------------
// Shapes read from JSON before the semantic checks.

interface RawPolicy {
  readonly maxNumRetry: number;
  readonly maxNumInstances: number;
  readonly softTimeoutMs: number;
  readonly hardTimeoutMs: number;
}
interface RawTermination {
  readonly tdlContext: TdlContext;
  readonly policy: RawPolicy | null;
}
interface RawTask {
  readonly tdlContext: TdlContext;
  readonly policy: RawPolicy | null;
  readonly inputs: readonly CanonicalType[];
  readonly outputs: readonly CanonicalType[];
  readonly sources: readonly DataflowSource[] | null;
}

/** Shares equal objects within one graph: many tasks name the same function, policy and types. */
class Interner {
  readonly types = new TypeInterner();
  private readonly contexts = new Map<string, Map<string, TdlContext>>();
  private readonly policies = new Map<string, ExecutionPolicy>();

  context(pkg: string, taskFunc: string): TdlContext {
    let byFunc = this.contexts.get(pkg);
    if (byFunc === undefined) {
      byFunc = new Map();
      this.contexts.set(pkg, byFunc);
    }
    let context = byFunc.get(taskFunc);
    if (context === undefined) {
      context = Object.freeze({ package: pkg, taskFunc });
      byFunc.set(taskFunc, context);
    }
    return context;
  }

  policy(raw: RawPolicy): ExecutionPolicy {
    const key = `${raw.maxNumRetry},${raw.maxNumInstances},${raw.softTimeoutMs},${raw.hardTimeoutMs}`;
    let policy = this.policies.get(key);
    if (policy === undefined) {
      const d = DEFAULT_EXECUTION_POLICY;
      const t = d.timeoutPolicy;
      policy =
        raw.maxNumRetry === d.maxNumRetry &&
        raw.maxNumInstances === d.maxNumInstances &&
        raw.softTimeoutMs === t.softTimeoutMs &&
        raw.hardTimeoutMs === t.hardTimeoutMs
          ? d
          : Object.freeze({
              maxNumRetry: raw.maxNumRetry,
              maxNumInstances: raw.maxNumInstances,
              timeoutPolicy: Object.freeze({ softTimeoutMs: raw.softTimeoutMs, hardTimeoutMs: raw.hardTimeoutMs }),
            });
      this.policies.set(key, policy);
    }
    return policy;
  }
}

function buildTaskGraph(root: JsonValue): TaskGraph {
  if (!isJsonObject(root)) {
    throw invalidArgument(
      `invalid type: ${describeJson(root)}, expected a map with fields: ${TOP_LEVEL_FIELDS.join(",")}`,
    );
  }
  // Top-level members in document order (first occurrences), as Spider's visitor sees them.
  const seen: (JsonValue | undefined)[] = [undefined, undefined, undefined, undefined];
  const expected = TOP_LEVEL_FIELDS.map((f) => `\`${f}\``).join(", ");
  const path = new JsonPath();
  for (const key of Object.keys(root)) {
    const index = (TOP_LEVEL_FIELDS as readonly string[]).indexOf(key);
    if (index < 0) {
      // serde's wording for a short key; a long one is quoted in part (never echoed whole).
      const named = key.length <= MAX_QUOTED_CHARS ? `\`${key}\`` : quoteInput(key);
      throw invalidArgument(`unknown field ${named} at the top level, expected one of ${expected}`);
    }
    const value = root[key]!;
    if (index === 0) {
      path.push("schema_version");
      readString(value, path);
      path.pop();
    }
    seen[index] = value;
  }
  const duplicate = duplicateKeysOf(root)?.[0];
  if (duplicate !== undefined) {
    throw invalidArgument(`duplicate field \`${duplicate}\` at the top level`);
  }
  const [schemaVersion, tasksValue, commitValue, cleanupValue] = seen;
  if (schemaVersion === undefined) {
    throw invalidArgument("missing field `schema_version`");
  }
  if (tasksValue === undefined) {
    throw invalidArgument("missing field `tasks`");
  }
  checkTaskGraphSchemaVersion(schemaVersion as string);

  const interner = new Interner();
  if (commitValue === undefined) {
    throw invalidArgument("missing field `commit_task`");
  }
  path.push("commit_task");
  const rawCommit = readTermination(commitValue, path, interner);
  path.pop();
  if (cleanupValue === undefined) {
    throw invalidArgument("missing field `cleanup_task`");
  }
  path.push("cleanup_task");
  const rawCleanup = readTermination(cleanupValue, path, interner);
  path.pop();
  const commitTask = rawCommit === null ? null : validateTermination(rawCommit, "commit_task", interner);
  const cleanupTask = rawCleanup === null ? null : validateTermination(rawCleanup, "cleanup_task", interner);

  path.push("tasks");
  const taskValues = readArray(tasksValue, path);
  const rawTasks: RawTask[] = new Array<RawTask>(taskValues.length);
  for (let i = 0; i < taskValues.length; i += 1) {
    path.push(i);
    rawTasks[i] = readTask(taskValues[i]!, path, interner);
    path.pop();
  }
  path.pop();
  return link(rawTasks, commitTask, cleanupTask, interner);
}

function readTermination(value: JsonValue, path: JsonPath, interner: Interner): RawTermination | null {
  if (value === null) {
    return null;
  }
  const [tdl, policy] = readStruct(value, "TerminationTaskDescriptor", TERMINATION_FIELDS, path, 1);
  const tdlValue = requireField(tdl, "tdl_context", path);
  path.push("tdl_context");
  const tdlContext = readTdlContext(tdlValue, path, interner);
  path.pop();
  path.push("execution_policy");
  const rawPolicy = readPolicy(policy, path);
  path.pop();
  return { tdlContext, policy: rawPolicy };
}

function readTask(value: JsonValue, path: JsonPath, interner: Interner): RawTask {
  const [tdl, policy, inputs, outputs, sources] = readStruct(value, "TaskDescriptor", TASK_FIELDS, path);
  const tdlValue = requireField(tdl, "tdl_context", path);
  const inputsValue = requireField(inputs, "inputs", path);
  const outputsValue = requireField(outputs, "outputs", path);
  path.push("tdl_context");
  const tdlContext = readTdlContext(tdlValue, path, interner);
  path.pop();
  path.push("execution_policy");
  const rawPolicy = readPolicy(policy, path);
  path.pop();
  path.push("inputs");
  const inputTypes = readTypes(inputsValue, path, interner);
  path.pop();
  path.push("outputs");
  const outputTypes = readTypes(outputsValue, path, interner);
  path.pop();
  let inputSources: DataflowSource[] | null = null;
  if (sources !== undefined && sources !== null) {
    path.push("input_sources");
    const entries = readArray(sources, path);
    inputSources = new Array<DataflowSource>(entries.length);
    for (let position = 0; position < entries.length; position += 1) {
      path.push(position);
      const [taskIdx, outputPosition] = readStruct(entries[position]!, "TaskInputOutputIndex", SOURCE_FIELDS, path);
      const taskIdxValue = requireField(taskIdx, "task_idx", path);
      const positionValue = requireField(outputPosition, "position", path);
      path.push("task_idx");
      const taskIndex = readUnsigned(taskIdxValue, 64, path);
      path.pop();
      path.push("position");
      const sourcePosition = readUnsigned(positionValue, 64, path);
      path.pop();
      inputSources[position] = Object.freeze({ taskIndex, position: sourcePosition });
      path.pop();
    }
    path.pop();
  }
  return { tdlContext, policy: rawPolicy, inputs: inputTypes, outputs: outputTypes, sources: inputSources };
}

function readTypes(value: JsonValue, path: JsonPath, interner: Interner): CanonicalType[] {
  const entries = readArray(value, path);
  const types = new Array<CanonicalType>(entries.length);
  for (let i = 0; i < entries.length; i += 1) {
    path.push(i);
    types[i] = interner.types.parse(entries[i]!, path);
    path.pop();
  }
  return types;
}

function readTdlContext(value: JsonValue, path: JsonPath, interner: Interner): TdlContext {
  const [pkg, taskFunc] = readStruct(value, "TdlContext", TDL_FIELDS, path);
  const pkgValue = requireField(pkg, "package", path);
  const funcValue = requireField(taskFunc, "task_func", path);
  path.push("package");
  const pkgName = readString(pkgValue, path);
  path.pop();
  path.push("task_func");
  const funcName = readString(funcValue, path);
  path.pop();
  return interner.context(pkgName, funcName);
}

/** Absent or null → null (the default policy, which needs no validation). */
function readPolicy(value: JsonValue | undefined, path: JsonPath): RawPolicy | null {
  if (value === undefined || value === null) {
    return null;
  }
  const [retry, instances, timeout] = readStruct(value, "ExecutionPolicy", POLICY_FIELDS, path, 2);
  const retryValue = requireField(retry, "max_num_retry", path);
  const instancesValue = requireField(instances, "max_num_instances", path);
  path.push("max_num_retry");
  const maxNumRetry = readUnsigned(retryValue, 32, path);
  path.pop();
  path.push("max_num_instances");
  const maxNumInstances = readUnsigned(instancesValue, 32, path);
  path.pop();
  let softTimeoutMs = DEFAULT_EXECUTION_POLICY.timeoutPolicy.softTimeoutMs;
  let hardTimeoutMs = DEFAULT_EXECUTION_POLICY.timeoutPolicy.hardTimeoutMs;
  if (timeout !== undefined) {
    path.push("timeout_policy");
    const [soft, hard] = readStruct(timeout, "TimeoutPolicy", TIMEOUT_FIELDS, path);
    const softValue = requireField(soft, "soft_timeout_ms", path);
    const hardValue = requireField(hard, "hard_timeout_ms", path);
    path.push("soft_timeout_ms");
    softTimeoutMs = readUnsigned(softValue, 64, path);
    path.pop();
    path.push("hard_timeout_ms");
    hardTimeoutMs = readUnsigned(hardValue, 64, path);
    path.pop();
    path.pop();
  }
  return { maxNumRetry, maxNumInstances, softTimeoutMs, hardTimeoutMs };
}

/** Spider's ExecutionPolicy::validate, then TimeoutPolicy::validate, in its order. */
function validatePolicy(raw: RawPolicy, where: string, interner: Interner): ExecutionPolicy {
  const reject = (rule: string): Error => invalidArgument(`${where}: invalid execution policy: ${rule}`);
  if (raw.maxNumInstances === 0) {
    throw reject("`max_num_instances` must be greater than 0");
  }
  const { softTimeoutMs: soft, hardTimeoutMs: hard } = raw;
  if (soft < MIN_TIMEOUT_MS) {
    throw reject(`\`soft_timeout_ms\` must be >= ${MIN_TIMEOUT_MS}ms, got ${soft}`);
  }
  if (soft > MAX_TIMEOUT_MS) {
    throw reject(`\`soft_timeout_ms\` must be <= ${MAX_TIMEOUT_MS}ms, got ${soft}`);
  }
  if (hard < MIN_TIMEOUT_MS) {
    throw reject(`\`hard_timeout_ms\` must be >= ${MIN_TIMEOUT_MS}ms, got ${hard}`);
  }
  if (hard > MAX_TIMEOUT_MS) {
    throw reject(`\`hard_timeout_ms\` must be <= ${MAX_TIMEOUT_MS}ms, got ${hard}`);
  }
  if (hard <= soft) {
    throw reject(`\`hard_timeout_ms\` (${hard}) must be greater than \`soft_timeout_ms\` (${soft})`);
  }
  return interner.policy(raw);
}

function validateTermination(raw: RawTermination, where: string, interner: Interner): TerminationTaskDescriptor {
  return Object.freeze({
    tdlContext: raw.tdlContext,
    executionPolicy: raw.policy === null ? DEFAULT_EXECUTION_POLICY : validatePolicy(raw.policy, where, interner),
  });
}

/** Inserts the tasks in index order, checking each against the tasks before it (Spider's insert_task). */
function link(
  rawTasks: readonly RawTask[],
  commitTask: TerminationTaskDescriptor | null,
  cleanupTask: TerminationTaskDescriptor | null,
  interner: Interner,
): TaskGraph {
  const count = rawTasks.length;
  const policies: ExecutionPolicy[] = new Array<ExecutionPolicy>(count);
  const parents: (readonly number[])[] = new Array<readonly number[]>(count);
  const children: (number[] | undefined)[] = new Array<number[] | undefined>(count);
  const offsets: number[] = new Array<number>(count);
  let graphInputCount = 0;
  let dependencyCount = 0;

  for (let index = 0; index < count; index += 1) {
    const task = rawTasks[index]!;
    const where = `task ${index}`;
    policies[index] = task.policy === null ? DEFAULT_EXECUTION_POLICY : validatePolicy(task.policy, where, interner);
    const sources = task.sources;
    if (sources === null) {
      offsets[index] = graphInputCount;
      graphInputCount += task.inputs.length;
      parents[index] = EMPTY;
      continue;
    }
    offsets[index] = -1;
    if (task.inputs.length === 0) {
      throw invalidArgument(
        `${where}: input task cannot have input sources specified (a task without inputs needs \`input_sources\`: null)`,
      );
    }
    if (sources.length !== task.inputs.length) {
      throw invalidArgument(
        `${where}: mismatched number of positional inputs (${task.inputs.length}) and input sources (${sources.length})`,
      );
    }
    const parentList: number[] = [];
    for (let position = 0; position < sources.length; position += 1) {
      const source = sources[position]!;
      const at = `${where}, input ${position}`;
      const named = `input source (task_idx ${source.taskIndex}, position ${source.position})`;
      if (source.taskIndex >= index) {
        throw invalidArgument(
          `${at}: invalid ${named}: an input source must name an output of an earlier task (index below ${index})`,
        );
      }
      const producer = rawTasks[source.taskIndex]!;
      if (source.position >= producer.outputs.length) {
        throw invalidArgument(
          `${at}: invalid ${named}: task ${source.taskIndex} has ${producer.outputs.length} output(s)`,
        );
      }
      const expected = task.inputs[position]!;
      const found = producer.outputs[source.position]!;
      if (expected !== found) {
        throw invalidArgument(
          `${at}: mismatched input type: the input is ${expected} but its ${named} is ${found}`,
        );
      }
      parentList.push(source.taskIndex);
    }
    dependencyCount += sources.length;
    parentList.sort((a, b) => a - b);
    let distinct = 0;
    for (let i = 0; i < parentList.length; i += 1) {
      if (i === 0 || parentList[i] !== parentList[distinct - 1]) {
        parentList[distinct] = parentList[i]!;
        distinct += 1;
      }
    }
    parentList.length = distinct;
    parents[index] = Object.freeze(parentList);
    for (const parent of parentList) {
      (children[parent] ??= []).push(index);
    }
  }

  const tasks: TaskDescriptor[] = new Array<TaskDescriptor>(count);
  let graphOutputCount = 0;
  for (let index = 0; index < count; index += 1) {
    const raw = rawTasks[index]!;
    const childList = children[index];
    tasks[index] = Object.freeze({
      index,
      tdlContext: raw.tdlContext,
      executionPolicy: policies[index]!,
      inputCount: raw.inputs.length,
      outputCount: raw.outputs.length,
      inputSources: raw.sources === null ? null : Object.freeze(raw.sources as DataflowSource[]),
      graphInputOffset: offsets[index]!,
      parents: parents[index]!,
      children: childList === undefined ? EMPTY : Object.freeze(childList),
    });
    if (childList === undefined) graphOutputCount += raw.outputs.length;
  }
  return Object.freeze({
    tasks: Object.freeze(tasks),
    commitTask,
    cleanupTask,
    graphInputCount,
    graphOutputCount,
    dependencyCount,
  });
}

/**
 * The job outputs in order: every output of every task with no children, by
 * task index then position. Built when asked (once per job, at commit): kept
 * in the graph, it would cost an object per output of every cached graph.
 */
export function graphOutputsOf(graph: TaskGraph): readonly DataflowSource[] {
  const outputs: DataflowSource[] = [];
  for (const task of graph.tasks) {
    if (task.children.length > 0) continue;
    for (let position = 0; position < task.outputCount; position += 1) outputs.push(Object.freeze({ taskIndex: task.index, position }));
  }
  return Object.freeze(outputs);
}
