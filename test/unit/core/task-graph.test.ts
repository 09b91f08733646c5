/**
 * Every rule of spec §1.5 for the task graph, the cases of §7.13 (Spider's
 * test_task_graph_serde.rs and the task_graph.rs unit tests), and the derived
 * facts the engine relies on (graph inputs and outputs, parents, children).
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_EXECUTION_POLICY,
  decodeTaskGraph,
  graphOutputsOf,
  parseTaskGraphJson,
  type TaskGraph,
} from "../../../src/core/task-graph.ts";
import {
  INT64,
  sharedValueType,
  TaskGraphBuilder,
  valueType,
  valueTypes,
  type TaskGraphJson,
  type TypeDescriptorJson,
} from "../../../testkit/task-graph-builder.ts";
import { compressZstd } from "../../../src/core/zstd.ts";
import { concat, expectInvalid, utf8 } from "./helpers.ts";
import { SPIDER_TASK_GRAPH_JSON } from "./spider-fixture.ts";

const INT32 = valueType(valueTypes.int32);
const BOOL = valueType(valueTypes.boolean);
const BYTES_T = valueType(valueTypes.bytes);
const FLOAT64 = valueType(valueTypes.float64);

/** The Spider fixture as a mutable object. */
function fixture(): Record<string, unknown> & { tasks: Record<string, unknown>[] } {
  return JSON.parse(SPIDER_TASK_GRAPH_JSON) as Record<string, unknown> & { tasks: Record<string, unknown>[] };
}

/** A small valid graph: task 0 (input task, Int64 → Int64), task 1 reads it. */
function small(): TaskGraphJson {
  return new TaskGraphBuilder()
    .task({ inputs: [INT64], outputs: [INT64] })
    .task({ outputs: [INT64], sources: [[0, 0]] })
    .toObject();
}

function parse(value: unknown): TaskGraph {
  return parseTaskGraphJson(typeof value === "string" ? value : JSON.stringify(value));
}

/** Replaces task `index`'s field `key` (undefined deletes it). */
function withTaskField(graph: TaskGraphJson, index: number, key: string, value: unknown): TaskGraphJson {
  const task = graph.tasks[index] as unknown as Record<string, unknown>;
  if (value === undefined) {
    delete task[key];
  } else {
    task[key] = value;
  }
  return graph;
}

function withPolicy(policy: unknown): TaskGraphJson {
  return withTaskField(small(), 0, "execution_policy", policy);
}

function policy(retry: unknown, instances: unknown, soft: unknown = 150_000, hard: unknown = 300_000): unknown {
  return { max_num_retry: retry, max_num_instances: instances, timeout_policy: { soft_timeout_ms: soft, hard_timeout_ms: hard } };
}

describe("Spider's fixture (test_serde)", () => {
  it("parses with every derived fact right", () => {
    const graph = parseTaskGraphJson(SPIDER_TASK_GRAPH_JSON);
    expect(graph.tasks).toHaveLength(10);
    expect(graph.tasks.map((t) => t.tdlContext.taskFunc)).toEqual([
      "fn_1", "fn_2", "fn_3", "fn_4", "fn_5", "fn_6", "fn_7", "fn_8", "fn_9", "fn_10",
    ]);
    expect(graph.tasks.map((t) => t.parents)).toEqual([[], [], [0], [0, 2], [1, 2], [3], [4, 5], [5], [1], []]);
    expect(graph.tasks.map((t) => t.children)).toEqual([[2, 3], [4, 8], [3, 4], [5], [6], [6, 7], [], [], [], []]);
    expect(graph.tasks.map((t) => t.graphInputOffset)).toEqual([0, 2, -1, -1, -1, -1, -1, -1, -1, 3]);
    expect(graph.tasks.map((t) => [t.inputCount, t.outputCount])).toEqual([
      [2, 2], [1, 2], [1, 2], [2, 1], [2, 2], [1, 2], [4, 1], [1, 1], [2, 1], [0, 0],
    ]);
    expect(graph.graphInputCount).toBe(3);
    expect(graphOutputsOf(graph)).toEqual([
      { taskIndex: 6, position: 0 },
      { taskIndex: 7, position: 0 },
      { taskIndex: 8, position: 0 },
    ]);
    expect(graph.dependencyCount).toBe(13);
    expect(graph.tasks[6]!.inputSources).toEqual([
      { taskIndex: 5, position: 1 },
      { taskIndex: 5, position: 1 },
      { taskIndex: 5, position: 0 },
      { taskIndex: 4, position: 1 },
    ]);
    expect(graph.tasks[0]!.inputSources).toBeNull();
    expect(graph.tasks[0]!.executionPolicy).toEqual({
      maxNumRetry: 3,
      maxNumInstances: 2,
      timeoutPolicy: { softTimeoutMs: 200_000, hardTimeoutMs: 600_000 },
    });
    expect(graph.tasks[1]!.executionPolicy).toBe(DEFAULT_EXECUTION_POLICY);
    expect(graph.commitTask).toEqual({
      tdlContext: { package: "test_pkg", taskFunc: "commit_fn" },
      executionPolicy: { maxNumRetry: 1, maxNumInstances: 1, timeoutPolicy: { softTimeoutMs: 150_000, hardTimeoutMs: 300_000 } },
    });
    expect(graph.cleanupTask).toEqual({
      tdlContext: { package: "test_pkg", taskFunc: "cleanup_fn" },
      executionPolicy: DEFAULT_EXECUTION_POLICY,
    });
  });

  it("parses from bytes and from zstd, including concatenated frames", () => {
    const expected = parseTaskGraphJson(SPIDER_TASK_GRAPH_JSON);
    const raw = utf8(SPIDER_TASK_GRAPH_JSON);
    expect(parseTaskGraphJson(raw)).toEqual(expected);
    expect(decodeTaskGraph(compressZstd(raw), { maxDecompressedBytes: 1 << 20 })).toEqual(expected);
    const split = Math.floor(raw.length / 3);
    const frames = concat(compressZstd(raw.subarray(0, split)), compressZstd(raw.subarray(split), 19));
    expect(decodeTaskGraph(frames, { maxDecompressedBytes: raw.length })).toEqual(expected);
    expectInvalid(() => decodeTaskGraph(frames, { maxDecompressedBytes: raw.length - 1 }), `above the limit of ${raw.length - 1}`);
  });

  it("returns a deeply frozen structure", () => {
    const graph = parseTaskGraphJson(SPIDER_TASK_GRAPH_JSON);
    const seen = new Set<unknown>();
    const check = (value: unknown, where: string): void => {
      if (value === null || typeof value !== "object" || seen.has(value)) {
        return;
      }
      seen.add(value);
      expect(Object.isFrozen(value), where).toBe(true);
      for (const [key, child] of Object.entries(value)) {
        check(child, `${where}.${key}`);
      }
    };
    check(graph, "graph");
    expect(seen.size).toBeGreaterThan(40);
    expect(() => {
      (graph.tasks as unknown as unknown[]).push(1);
    }).toThrow(TypeError);
  });
});

describe("top level", () => {
  it.each([["[]"], ['"graph"'], ["null"], ["42"]])("rejects a top level that is not an object: %s", (json) => {
    expectInvalid(() => parseTaskGraphJson(json), "expected a map with fields");
  });

  it.each(["schema_version", "tasks", "commit_task", "cleanup_task"])("requires %s (test_missing_fields)", (key) => {
    const graph = fixture();
    delete graph[key];
    expectInvalid(() => parse(graph), `missing field \`${key}\``);
  });

  it.each([
    ["schema_version", '"0.1.0"'],
    ["tasks", "[]"],
    ["commit_task", "null"],
    ["cleanup_task", "null"],
  ])("rejects a duplicate %s (JSON.parse would keep the last)", (key, value) => {
    const json = `{"schema_version":"0.1.0","tasks":[],"commit_task":null,"cleanup_task":null,"${key}":${value}}`;
    expectInvalid(() => parseTaskGraphJson(json), `duplicate field \`${key}\``);
  });

  it("rejects a duplicate key even when written with an escape", () => {
    const json = '{"schema_version":"0.1.0","tasks":[],"commit_task":null,"cleanup_task":null,"t\\u0061sks":[]}';
    expectInvalid(() => parseTaskGraphJson(json), "duplicate field `tasks`");
  });

  it("rejects unknown top-level keys", () => {
    const graph = fixture();
    graph.version = 1;
    expectInvalid(() => parse(graph), "unknown field `version`");
    expectInvalid(() => parseTaskGraphJson('{"__proto__":{}}'), "unknown field `__proto__`");
  });

  it("accepts an empty task list (storage rejects it at submission)", () => {
    const graph = parse({ schema_version: "0.1.0", tasks: [], commit_task: null, cleanup_task: null });
    expect(graph.tasks).toEqual([]);
    expect(graph.graphInputCount).toBe(0);
    expect(graphOutputsOf(graph)).toEqual([]);
  });

  it("rejects tasks that are not an array", () => {
    expectInvalid(() => parse({ ...small(), tasks: {} }), "tasks: invalid type: map, expected a sequence");
  });

  it("names JSON syntax errors with line and column", () => {
    expectInvalid(() => parseTaskGraphJson('{\n  "tasks": [,]\n}'), /task graph is not valid JSON: .* at line 2 column 13/);
    expectInvalid(() => parseTaskGraphJson(""), "not valid JSON");
    expectInvalid(() => parseTaskGraphJson(`${JSON.stringify(small())} x`), "trailing characters");
    expectInvalid(() => parseTaskGraphJson(`${JSON.stringify(small()).slice(0, -1)},}`), "not valid JSON");
    expectInvalid(() => parseTaskGraphJson(`// c\n${JSON.stringify(small())}`), "not valid JSON");
    expectInvalid(() => parseTaskGraphJson(`\uFEFF${JSON.stringify(small())}`), "not valid JSON");
    expectInvalid(() => parseTaskGraphJson(concat(utf8('{"schema_version":"0.1.0'), new Uint8Array([0xff]), utf8('"}'))), "not valid UTF-8");
  });

  it("limits nesting as serde_json does (127 levels)", () => {
    const deep = (n: number): string => `${"[".repeat(n)}${"]".repeat(n)}`;
    const json = (n: number): string => `{"schema_version":"0.1.0","tasks":[],"commit_task":null,"cleanup_task":null,"x":${deep(n)}}`;
    expectInvalid(() => parseTaskGraphJson(json(126)), "unknown field `x`");
    expectInvalid(() => parseTaskGraphJson(json(127)), "recursion limit exceeded");
    expectInvalid(() => parseTaskGraphJson(json(100_000)), "recursion limit exceeded");
  });
});

describe("schema_version", () => {
  it.each([["0.0.0"], ["100000.0.0"], ["0.2.0"], ["1.0.0"], ["0.1.0-alpha"], ["0.1.1-rc.1"]])(
    "rejects the incompatible version %s",
    (version) => {
      expectInvalid(
        () => parse({ ...small(), schema_version: version }),
        `incompatible task graph schema version: found ${version}, compatible requirement: >=0.1.0,<0.2.0`,
      );
    },
  );

  it.each([["v0.1.0"], ["0.1"], ["0.1.0.0"], [" 0.1.0"], ["0.1.0 "], ["01.1.0"], ["0.01.0"], [""], ["0.1.0-"], ["0.1.0-01"], ["0.1.0+"], ["0.1.99999999999999999999"]])(
    "rejects the malformed version %j",
    (version) => {
      expectInvalid(() => parse({ ...small(), schema_version: version }), `invalid schema version string '${version}'`);
    },
  );

  it.each([[true], [null], [123], [0.1], [["0.1.0"]]])("rejects the non-string version %j (test_invalid_schema_version)", (version) => {
    expectInvalid(() => parse({ ...small(), schema_version: version }), "schema_version: invalid type");
  });

  it.each([["0.1.0"], ["0.1.5"], ["0.1.18446744073709551615"], ["0.1.0+build.5"], ["0.1.2+0001"]])("accepts %s", (version) => {
    expect(parse({ ...small(), schema_version: version }).tasks).toHaveLength(2);
  });

  it("is checked before the task list (test_schema_version_check_priority)", () => {
    const json = `{
        "tasks": [ { "company": "yscope" } ],
        "schema_version": "1000000.0.0",
        "commit_task": null,
        "cleanup_task": null
    }`;
    expectInvalid(() => parseTaskGraphJson(json), "incompatible task graph schema version");
  });

  it("is checked before the termination tasks", () => {
    expectInvalid(
      () => parse({ ...small(), schema_version: "0.3.0", commit_task: { bogus: 1 } }),
      "incompatible task graph schema version",
    );
  });

  it("wins over a missing commit_task but not over a missing tasks key", () => {
    expectInvalid(() => parseTaskGraphJson('{"schema_version":"9.0.0","tasks":[]}'), "incompatible");
    expectInvalid(() => parseTaskGraphJson('{"schema_version":"9.0.0","commit_task":null,"cleanup_task":null}'), "missing field `tasks`");
  });
});

describe("tdl_context", () => {
  it("requires package and task_func, both strings, and allows them empty", () => {
    expectInvalid(() => parse(withTaskField(small(), 0, "tdl_context", undefined)), "tasks[0]: missing field `tdl_context`");
    expectInvalid(() => parse(withTaskField(small(), 1, "tdl_context", { package: "p" })), "tasks[1].tdl_context: missing field `task_func`");
    expectInvalid(() => parse(withTaskField(small(), 0, "tdl_context", { task_func: "f" })), "missing field `package`");
    expectInvalid(() => parse(withTaskField(small(), 0, "tdl_context", { package: 1, task_func: "f" })), "tasks[0].tdl_context.package: invalid type: integer `1`, expected a string");
    expectInvalid(() => parse(withTaskField(small(), 0, "tdl_context", "p::f")), "expected struct TdlContext");
    const graph = parse(withTaskField(small(), 0, "tdl_context", { package: "", task_func: "", extra: [1, 2] }));
    expect(graph.tasks[0]!.tdlContext).toEqual({ package: "", taskFunc: "" });
  });

  it("accepts serde's array form of a struct", () => {
    const graph = parse(withTaskField(small(), 0, "tdl_context", ["pkg", "fn"]));
    expect(graph.tasks[0]!.tdlContext).toEqual({ package: "pkg", taskFunc: "fn" });
    expectInvalid(() => parse(withTaskField(small(), 0, "tdl_context", ["pkg"])), "invalid length 1, expected struct TdlContext with 2 elements");
  });

  it("is required for termination tasks too", () => {
    expectInvalid(() => parse({ ...small(), commit_task: { execution_policy: null } }), "commit_task: missing field `tdl_context`");
    expectInvalid(() => parse({ ...small(), cleanup_task: {} }), "cleanup_task: missing field `tdl_context`");
    expectInvalid(() => parse({ ...small(), commit_task: "commit" }), "commit_task: invalid type");
  });
});

describe("task descriptor shape", () => {
  it("ignores unknown keys, even repeated ones", () => {
    expect(parse(withTaskField(small(), 0, "company", "yscope")).tasks).toHaveLength(2);
    const json = JSON.stringify(small()).replace('"inputs":', '"x":1,"x":2,"inputs":');
    expect(parseTaskGraphJson(json).tasks).toHaveLength(2);
  });

  it("rejects a repeated known key", () => {
    const json = JSON.stringify(small()).replace('"outputs":', '"inputs":[],"outputs":');
    expectInvalid(() => parseTaskGraphJson(json), "tasks[0]: duplicate field `inputs`");
  });

  it.each(["inputs", "outputs"])("requires %s as an array", (key) => {
    expectInvalid(() => parse(withTaskField(small(), 0, key, undefined)), `tasks[0]: missing field \`${key}\``);
    expectInvalid(() => parse(withTaskField(small(), 0, key, null)), `tasks[0].${key}: invalid type: null, expected a sequence`);
  });

  it("treats absent and null input_sources alike: an input task", () => {
    const absent = parse(withTaskField(small(), 0, "input_sources", undefined));
    expect(absent.tasks[0]!.inputSources).toBeNull();
    expect(absent.graphInputCount).toBe(1);
  });

  it("rejects a task that is not an object or array", () => {
    expectInvalid(() => parse({ ...small(), tasks: [42] }), "tasks[0]: invalid type: integer `42`, expected struct TaskDescriptor");
  });

  it("reports the shape of a later task before the sources of an earlier one (Spider deserializes all tasks first)", () => {
    const graph = small();
    (graph.tasks[1]!.input_sources as unknown) = [{ task_idx: 7, position: 0 }];
    graph.tasks.push({ tdl_context: { package: "p", task_func: "f" } } as never);
    expectInvalid(() => parse(graph), "tasks[2]: missing field `inputs`");
  });
});

describe("execution policy", () => {
  it("defaults when absent or null", () => {
    expect(parse(withPolicy(undefined)).tasks[0]!.executionPolicy).toBe(DEFAULT_EXECUTION_POLICY);
    expect(parse(withPolicy(null)).tasks[0]!.executionPolicy).toBe(DEFAULT_EXECUTION_POLICY);
    expect(DEFAULT_EXECUTION_POLICY).toEqual({ maxNumRetry: 0, maxNumInstances: 1, timeoutPolicy: { softTimeoutMs: 150_000, hardTimeoutMs: 300_000 } });
  });

  it("requires max_num_retry and max_num_instances when present; timeout_policy defaults", () => {
    expectInvalid(() => parse(withPolicy({ max_num_instances: 1 })), "tasks[0].execution_policy: missing field `max_num_retry`");
    expectInvalid(() => parse(withPolicy({ max_num_retry: 1 })), "missing field `max_num_instances`");
    const graph = parse(withPolicy({ max_num_retry: 5, max_num_instances: 3 }));
    expect(graph.tasks[0]!.executionPolicy).toEqual({ maxNumRetry: 5, maxNumInstances: 3, timeoutPolicy: DEFAULT_EXECUTION_POLICY.timeoutPolicy });
    expect(parse(withPolicy([5, 3])).tasks[0]!.executionPolicy.maxNumRetry).toBe(5);
    expect(parse(withPolicy({ max_num_retry: 0, max_num_instances: 1, timeout_policy: { soft_timeout_ms: 150_000, hard_timeout_ms: 300_000 } })).tasks[0]!.executionPolicy).toBe(DEFAULT_EXECUTION_POLICY);
  });

  it("requires both timeouts when timeout_policy is given, and rejects null", () => {
    expectInvalid(() => parse(withPolicy({ max_num_retry: 0, max_num_instances: 1, timeout_policy: { soft_timeout_ms: 1000 } })), "timeout_policy: missing field `hard_timeout_ms`");
    expectInvalid(() => parse(withPolicy({ max_num_retry: 0, max_num_instances: 1, timeout_policy: { hard_timeout_ms: 1000 } })), "missing field `soft_timeout_ms`");
    expectInvalid(() => parse(withPolicy({ max_num_retry: 0, max_num_instances: 1, timeout_policy: null })), "timeout_policy: invalid type: null, expected struct TimeoutPolicy");
  });

  it.each([
    ["1.0", "max_num_retry", "invalid type: floating point `1.0`, expected u32"],
    ["1e0", "max_num_retry", "invalid type: floating point `1e0`, expected u32"],
    ["-1", "max_num_retry", "invalid value: integer `-1`, expected u32"],
    ["-0", "max_num_retry", "invalid type: floating point `-0`, expected u32"],
    ['"1"', "max_num_retry", 'invalid type: string "1", expected u32'],
    ["4294967296", "max_num_retry", "invalid value: integer `4294967296`, expected u32"],
    ["true", "max_num_instances", "invalid type: boolean `true`, expected u32"],
    ["1.5", "max_num_instances", "invalid type: floating point `1.5`, expected u32"],
  ])("rejects %s as %s (integers must be integer literals)", (literal, field, message) => {
    const json = JSON.stringify(withPolicy(policy(0, 1))).replace(`"${field}":${field === "max_num_retry" ? 0 : 1}`, `"${field}":${literal}`);
    expectInvalid(() => parseTaskGraphJson(json), `tasks[0].execution_policy.${field}: ${message}`);
  });

  it.each([
    ["150000.0", "invalid type: floating point `150000.0`, expected u64"],
    ["18446744073709551616", "invalid value: integer `18446744073709551616`, expected u64"],
    ["-150000", "invalid value: integer `-150000`, expected u64"],
  ])("rejects soft_timeout_ms %s", (literal, message) => {
    const json = JSON.stringify(withPolicy(policy(0, 1))).replace('"soft_timeout_ms":150000', `"soft_timeout_ms":${literal}`);
    expectInvalid(() => parseTaskGraphJson(json), `timeout_policy.soft_timeout_ms: ${message}`);
  });

  it("accepts the largest u32 retry count and big u64 literals only where bounds allow", () => {
    expect(parse(withPolicy(policy(4294967295, 4294967295))).tasks[0]!.executionPolicy.maxNumRetry).toBe(4294967295);
    const json = JSON.stringify(withPolicy(policy(0, 1))).replace('"hard_timeout_ms":300000', '"hard_timeout_ms":18446744073709551615');
    expectInvalid(() => parseTaskGraphJson(json), "`hard_timeout_ms` must be <= 86400000ms");
  });

  it.each([
    [policy(0, 0), "`max_num_instances` must be greater than 0"],
    [policy(0, 1, 99, 300_000), "`soft_timeout_ms` must be >= 100ms"],
    [policy(0, 1, 86_400_001, 86_400_002), "`soft_timeout_ms` must be <= 86400000ms"],
    [policy(0, 1, 150_000, 99), "`hard_timeout_ms` must be >= 100ms"],
    [policy(0, 1, 150_000, 86_400_001), "`hard_timeout_ms` must be <= 86400000ms"],
    [policy(0, 1, 1000, 1000), "`hard_timeout_ms` (1000) must be greater than `soft_timeout_ms` (1000)"],
    [policy(0, 1, 2000, 1000), "`hard_timeout_ms` (1000) must be greater than `soft_timeout_ms` (2000)"],
  ])("rejects the task policy %j (test_insert_task_invalid_*_policy)", (bad, message) => {
    expectInvalid(() => parse(withPolicy(bad)), `invalid task graph: task 0: invalid execution policy: ${message}`);
  });

  it("accepts the inclusive bounds", () => {
    expect(parse(withPolicy(policy(0, 1, 100, 101))).tasks[0]!.executionPolicy.timeoutPolicy).toEqual({ softTimeoutMs: 100, hardTimeoutMs: 101 });
    expect(parse(withPolicy(policy(0, 1, 86_399_999, 86_400_000))).tasks[0]!.executionPolicy.timeoutPolicy.hardTimeoutMs).toBe(86_400_000);
  });

  it.each(["commit_task", "cleanup_task"])("validates the %s policy (test_new_invalid_termination_task_*)", (key) => {
    const base = (p: unknown): unknown => ({ ...small(), [key]: { tdl_context: { package: "p", task_func: "f" }, execution_policy: p } });
    expectInvalid(() => parse(base(policy(0, 0))), `${key}: invalid execution policy: \`max_num_instances\` must be greater than 0`);
    expectInvalid(() => parse(base(policy(0, 1, 99, 300_000))), `${key}: invalid execution policy: \`soft_timeout_ms\` must be >= 100ms`);
    expectInvalid(() => parse(base(policy(0, 1, 150_000, 99))), "`hard_timeout_ms` must be >= 100ms");
    expectInvalid(() => parse(base(policy(0, 1, 1000, 1000))), "must be greater than");
    expectInvalid(() => parse(base(policy(0, 1, 1000, 86_400_001))), "`hard_timeout_ms` must be <= 86400000ms");
    const ok = parse(base(policy(7, 2, 1000, 2000)));
    const descriptor = key === "commit_task" ? ok.commitTask : ok.cleanupTask;
    expect(descriptor!.executionPolicy).toEqual({ maxNumRetry: 7, maxNumInstances: 2, timeoutPolicy: { softTimeoutMs: 1000, hardTimeoutMs: 2000 } });
  });

  it("checks termination policies before the tasks", () => {
    const graph = { ...small(), commit_task: { tdl_context: { package: "p", task_func: "f" }, execution_policy: policy(0, 0) } } as TaskGraphJson;
    withTaskField(graph, 1, "input_sources", [{ task_idx: 9, position: 0 }]);
    expectInvalid(() => parse(graph), "commit_task: invalid execution policy");
  });
});

describe("type descriptors", () => {
  const accepted: [string, unknown][] = [
    ["Int8", valueType(valueTypes.int8)],
    ["Int16", valueType(valueTypes.int16)],
    ["Int32", INT32],
    ["Int64", INT64],
    ["Float32", valueType(valueTypes.float32)],
    ["Float64", FLOAT64],
    ["Boolean", BOOL],
    ["Boolean with null content", { Value: { Primitive: { Boolean: null } } }],
    ["Bytes", BYTES_T],
    ["Bytes as []", { Value: { Bytes: [] } }],
    ["Bytes with members", { Value: { Bytes: { ignored: 1 } } }],
    ["Struct", valueType(valueTypes.struct("Result"))],
    ["List", valueType(valueTypes.list(valueTypes.bytes))],
    ["Map Int key", valueType(valueTypes.map("Int32", valueTypes.float64))],
    ["Map Bytes key", valueType(valueTypes.map("Bytes", valueTypes.list(valueTypes.struct("S"))))],
    ["Map as array", { Value: { Map: [{ Int: "Int8" }, { Bytes: {} }] } }],
    ["SharedValue", sharedValueType(valueTypes.int64)],
    ["nested", sharedValueType(valueTypes.list(valueTypes.map("Int64", valueTypes.list(valueTypes.boolean))))],
  ];
  it.each(accepted)("accepts %s", (_name, type) => {
    const graph = new TaskGraphBuilder().task({ inputs: [type as TypeDescriptorJson], outputs: [type as TypeDescriptorJson] }).build();
    expect(graph.tasks[0]!.inputCount).toBe(1);
  });

  const rejected: [string, unknown, string][] = [
    ["a bare string", "Int64", "tasks[0].inputs[0]: unknown variant `Int64` of DataTypeDescriptor"],
    ["an unknown data variant", { Owned: { Bytes: {} } }, "unknown variant `Owned` of DataTypeDescriptor, expected one of `Value`, `SharedValue`"],
    ["Value as a unit variant", "Value", "invalid type: unit variant `Value`, expected newtype variant"],
    ["two variants", { Value: { Bytes: {} }, SharedValue: { Bytes: {} } }, "map with 2 entries"],
    ["no variant", {}, "map with 0 entries"],
    ["an unknown value variant", { Value: { Tuple: [] } }, "unknown variant `Tuple` of ValueTypeDescriptor"],
    ["Int as a string", { Value: { Primitive: "Int" } }, "unit variant `Int`, expected newtype variant"],
    ["Int128", { Value: { Primitive: { Int: "Int128" } } }, "inputs[0].Value.Primitive.Int: unknown variant `Int128`"],
    ["Float16", { Value: { Primitive: { Float: "Float16" } } }, "unknown variant `Float16`"],
    ["Boolean with content", { Value: { Primitive: { Boolean: 1 } } }, "Primitive.Boolean: invalid type: integer `1`, expected unit"],
    ["an empty struct name", { Value: { Struct: "" } }, "inputs[0].Value.Struct: empty struct name is not allowed"],
    ["a non-string struct name", { Value: { Struct: 5 } }, "Value.Struct: invalid type: integer `5`, expected a string"],
    ["Bytes null", { Value: { Bytes: null } }, "expected struct BytesTypeDescriptor"],
    ["Bytes [1]", { Value: { Bytes: [1] } }, "invalid length 1, expected struct BytesTypeDescriptor with 0 elements"],
    ["a map without key", { Value: { Map: { value: { Bytes: {} } } } }, "Value.Map: missing field `key`"],
    ["a map without value", { Value: { Map: { key: { Bytes: {} } } } }, "missing field `value`"],
    ["a Float map key", { Value: { Map: { key: { Float: "Float32" }, value: { Bytes: {} } } } }, "Map.key: unknown variant `Float` of MapKeyTypeDescriptor"],
    ["a Primitive map key", { Value: { Map: { key: { Primitive: { Int: "Int8" } }, value: { Bytes: {} } } } }, "unknown variant `Primitive`"],
    ["a List without element", { Value: { List: null } }, "Value.List: invalid type: null, expected enum ValueTypeDescriptor"],
    ["a nested bad type", { Value: { List: { List: { Primitive: { Int: "Int7" } } } } }, "Value.List.List.Primitive.Int: unknown variant `Int7`"],
  ];
  it.each(rejected)("rejects %s", (_name, type, message) => {
    expectInvalid(() => new TaskGraphBuilder().task({ inputs: [type as TypeDescriptorJson] }).build(), message);
  });

  it("rejects a duplicated variant key", () => {
    const json = new TaskGraphBuilder().task({ inputs: [INT64] }).toJson().replace('{"Value":{', '{"Value":{"Bytes":{}},"Value":{');
    expectInvalid(() => parseTaskGraphJson(json), "expected enum DataTypeDescriptor");
  });

  it("names the output position of a bad output type", () => {
    expectInvalid(() => new TaskGraphBuilder().task({ outputs: [INT64, { Value: {} }] }).build(), "tasks[0].outputs[1].Value: invalid type: map with 0 entries");
  });
});

describe("input sources", () => {
  it("rejects sources for a task without inputs (test_invalid_task_input_source_for_zero_input)", () => {
    const base = new TaskGraphBuilder().task({ outputs: [INT32] });
    expectInvalid(() => base.task({ inputs: [], sources: [] }).build(), "task 1: input task cannot have input sources specified");
    const other = new TaskGraphBuilder().task({ outputs: [INT32] }).task({ inputs: [], outputs: [INT32], sources: [[0, 0]] });
    expectInvalid(() => other.build(), "task 1: input task cannot have input sources specified");
  });

  it("rejects a count mismatch (test_insert_task_input_source_count_mismatch)", () => {
    const base = (): TaskGraphBuilder => new TaskGraphBuilder().task({ outputs: [FLOAT64, BOOL] });
    expectInvalid(
      () => base().task({ inputs: [FLOAT64, BOOL, INT32], outputs: [INT32], sources: [[0, 0], [0, 1]] }).build(),
      "task 1: mismatched number of positional inputs (3) and input sources (2)",
    );
    expectInvalid(() => base().task({ inputs: [FLOAT64], sources: [] }).build(), "mismatched number of positional inputs (1) and input sources (0)");
  });

  it("rejects a source that is not an earlier task (test_insert_task_invalid_task_index)", () => {
    const base = (): TaskGraphBuilder => new TaskGraphBuilder().task({ inputs: [INT32], outputs: [FLOAT64] });
    expectInvalid(
      () => base().task({ inputs: [FLOAT64], outputs: [INT32], sources: [[5, 0]] }).build(),
      "task 1, input 0: invalid input source (task_idx 5, position 0): an input source must name an output of an earlier task",
    );
    expectInvalid(() => base().task({ inputs: [FLOAT64], outputs: [FLOAT64], sources: [[1, 0]] }).build(), "task 1, input 0: invalid input source (task_idx 1");
    expectInvalid(() => new TaskGraphBuilder().task({ inputs: [INT32], sources: [[0, 0]] }).build(), "task 0, input 0");
    const huge = base().task({ inputs: [FLOAT64], sources: [[0, 0]] }).toJson().replace('"task_idx":0', '"task_idx":18446744073709551615');
    expectInvalid(() => parseTaskGraphJson(huge), "task 1, input 0: invalid input source (task_idx 18446744073709552000");
  });

  it("rejects a position past the producer's outputs (test_insert_task_invalid_output_position)", () => {
    const graph = new TaskGraphBuilder()
      .task({ inputs: [INT32], outputs: [FLOAT64, BOOL] })
      .task({ inputs: [FLOAT64, FLOAT64], outputs: [INT32], sources: [[0, 0], [0, 2]] });
    expectInvalid(() => graph.build(), "task 1, input 1: invalid input source (task_idx 0, position 2): task 0 has 2 output(s)");
  });

  it("rejects a type mismatch (test_insert_task_type_mismatch)", () => {
    const graph = new TaskGraphBuilder()
      .task({ inputs: [INT32], outputs: [FLOAT64, BOOL] })
      .task({ inputs: [BYTES_T], outputs: [INT32], sources: [[0, 0]] });
    expectInvalid(
      () => graph.build(),
      "task 1, input 0: mismatched input type: the input is Value(Bytes) but its input source (task_idx 0, position 0) is Value(Primitive(Float(Float64)))",
    );
  });

  it("tells Value from SharedValue and Int32 from Int64", () => {
    const shared = sharedValueType(valueTypes.int64);
    expectInvalid(() => new TaskGraphBuilder().task({ outputs: [INT64] }).task({ inputs: [shared], sources: [[0, 0]] }).build(), "the input is SharedValue(Primitive(Int(Int64))) but");
    expectInvalid(() => new TaskGraphBuilder().task({ outputs: [INT64] }).task({ inputs: [INT32], sources: [[0, 0]] }).build(), "mismatched input type");
    const structs = new TaskGraphBuilder().task({ outputs: [valueType(valueTypes.struct("A"))] }).task({ inputs: [valueType(valueTypes.struct("B"))], sources: [[0, 0]] });
    expectInvalid(() => structs.build(), 'the input is Value(Struct("B")) but');
    const maps = new TaskGraphBuilder()
      .task({ outputs: [valueType(valueTypes.map("Int32", valueTypes.bytes))] })
      .task({ inputs: [valueType(valueTypes.map("Bytes", valueTypes.bytes))], sources: [[0, 0]] });
    expectInvalid(() => maps.build(), "Value(Map(Bytes,Bytes)) but");
  });

  it("compares types structurally, not textually", () => {
    const graph = new TaskGraphBuilder()
      .task({ outputs: [{ Value: { Bytes: {} } }, { Value: { Primitive: "Boolean" } }, { Value: { Map: { key: { Bytes: {} }, value: { Bytes: {} } } } }] })
      .task({
        inputs: [{ Value: { Bytes: { note: "x" } } }, { Value: { Primitive: { Boolean: null } } }, { Value: { Map: [{ Bytes: [] }, { Bytes: {} }] } }],
        sources: [[0, 0], [0, 1], [0, 2]],
      })
      .build();
    expect(graph.tasks[1]!.parents).toEqual([0]);
  });

  it("allows duplicate sources; parents are distinct and ascending; children too", () => {
    const graph = new TaskGraphBuilder()
      .task({ inputs: [INT64], outputs: [INT64, INT64] })
      .task({ inputs: [INT64], outputs: [INT64] })
      .task({ outputs: [INT64], sources: [[1, 0], [0, 1], [0, 1], [1, 0], [0, 0]] })
      .task({ outputs: [INT64], sources: [[2, 0], [0, 0]] })
      .build();
    expect(graph.tasks[2]!.parents).toEqual([0, 1]);
    expect(graph.tasks[3]!.parents).toEqual([0, 2]);
    expect(graph.tasks[0]!.children).toEqual([2, 3]);
    expect(graph.tasks[1]!.children).toEqual([2]);
    expect(graph.dependencyCount).toBe(7);
  });

  it("accepts serde's array form of a source and rejects malformed entries", () => {
    const json = new TaskGraphBuilder().task({ outputs: [INT64] }).task({ inputs: [INT64], sources: [[0, 0]] }).toJson();
    const arrayForm = json.replace('[{"task_idx":0,"position":0}]', "[[0,0]]");
    expect(parseTaskGraphJson(arrayForm).tasks[1]!.inputSources).toEqual([{ taskIndex: 0, position: 0 }]);
    expectInvalid(() => parseTaskGraphJson(json.replace('"position":0', '"position":0.0')), "tasks[1].input_sources[0].position: invalid type: floating point `0.0`");
    expectInvalid(() => parseTaskGraphJson(json.replace('"position":0', '"position":-1')), "input_sources[0].position: invalid value: integer `-1`, expected u64");
    expectInvalid(() => parseTaskGraphJson(json.replace(',"position":0', "")), "tasks[1].input_sources[0]: missing field `position`");
    expectInvalid(() => parseTaskGraphJson(json.replace('"task_idx":0,', "")), "missing field `task_idx`");
    expectInvalid(() => parseTaskGraphJson(json.replace('[{"task_idx":0,"position":0}]', '{"task_idx":0,"position":0}')), "tasks[1].input_sources: invalid type: map, expected a sequence");
    expectInvalid(() => parseTaskGraphJson(json.replace('"position":0', '"position":0,"position":0')), "duplicate field `position`");
  });

  it("breaks when task 0 is removed (test_invalid_task_descriptor)", () => {
    const graph = fixture();
    graph.tasks.splice(0, 1);
    expectInvalid(() => parse(graph), /invalid task graph: task \d+, input \d+/);
  });
});

describe("graph inputs and outputs", () => {
  it("numbers graph inputs by input task in index order, then position", () => {
    const graph = new TaskGraphBuilder()
      .task({ inputs: [INT64, BOOL], outputs: [INT64] }) // inputs 0, 1
      .task({ outputs: [INT64], sources: [[0, 0]] })
      .task({ inputs: [], outputs: [BOOL] }) // an input task with no inputs
      .task({ inputs: [BYTES_T], outputs: [INT64] }) // input 2
      .task({ outputs: [INT64, INT64], sources: [[1, 0], [3, 0]] })
      .build();
    expect(graph.tasks.map((t) => t.graphInputOffset)).toEqual([0, -1, 2, 2, -1]);
    expect(graph.graphInputCount).toBe(3);
    expect(graph.tasks.map((t) => t.inputSources === null)).toEqual([true, false, true, true, false]);
    expect(graph.tasks[2]!.parents).toEqual([]);
  });

  it("takes every output of every task without children, and none of a task with children", () => {
    const graph = new TaskGraphBuilder()
      .task({ inputs: [INT64], outputs: [INT64, BOOL, BYTES_T] }) // only output 0 consumed: still not a job output
      .task({ outputs: [INT64, BOOL], sources: [[0, 0]] })
      .task({ inputs: [], outputs: [] })
      .task({ inputs: [INT64], outputs: [BYTES_T] })
      .build();
    expect(graphOutputsOf(graph)).toEqual([
      { taskIndex: 1, position: 0 },
      { taskIndex: 1, position: 1 },
      { taskIndex: 3, position: 0 },
    ]);
  });

  it("gives task 0 no parents, so a started job always has a ready task", () => {
    const graph = parseTaskGraphJson(SPIDER_TASK_GRAPH_JSON);
    expect(graph.tasks[0]!.parents).toEqual([]);
  });

  it("shares equal contexts and policies within a graph", () => {
    const graph = new TaskGraphBuilder()
      .task({ inputs: [INT64], outputs: [INT64], taskFunc: "f", policy: { maxNumRetry: 3 } })
      .task({ outputs: [INT64], sources: [[0, 0]], taskFunc: "f", policy: { maxNumRetry: 3 } })
      .build();
    expect(graph.tasks[0]!.tdlContext).toBe(graph.tasks[1]!.tdlContext);
    expect(graph.tasks[0]!.executionPolicy).toBe(graph.tasks[1]!.executionPolicy);
  });
});

// How fast it parses is for the benchmarks (bench/) to measure, not for a test to bound.
describe("size", () => {
  it("parses a 20,000-task graph", () => {
    const json = TaskGraphBuilder.fanOutFanIn(20_000).toJson();
    const graph = parseTaskGraphJson(json);
    expect(graph.tasks).toHaveLength(20_002);
    expect(graph.dependencyCount).toBe(40_000);
    expect(graph.tasks[0]!.children).toHaveLength(20_000);
    expect(graph.tasks[20_001]!.parents).toHaveLength(20_000);
    expect(graphOutputsOf(graph)).toEqual([{ taskIndex: 20_001, position: 0 }]);
  });
});
