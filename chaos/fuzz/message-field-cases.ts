/**
 * Structure-aware requests for every method except RegisterJob's payloads
 * (see job-submission-cases.ts): well-formed messages whose fields sit at the
 * edges — ids at 0, 2^63 and 2^64 − 1 (and the world's own ids, or a session
 * one off), `max_items`/`wait_ms` far above their caps, empty, over-long,
 * control-character and astral strings, passwords at and over 2048 bytes,
 * ports beyond u16, task ids with no kind or an unknown kind — and, on top,
 * unknown fields (ignored by protobuf, so the expectation does not change) or
 * a known field sent with the wrong wire type (undecodable). Built against
 * the world when sent; the expectation comes from expected-status.ts.
 */
import { create, toBinary, type DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";
import { FUZZ_MAX_CONTROL_REQUEST_BYTES } from "./fuzz-environment.ts";
import { ALL_METHODS, methodNamed } from "./rpc-methods.ts";
import type { FuzzWorld } from "./fuzz-environment.ts";

/** A u64 chosen at an edge, or one of the world's ids (resolved when built). */
export type U64Choice =
  | { readonly value: bigint }
  | { readonly world: "session" | "staleSession" | "futureSession" | "resourceGroup" | "aliveEm" | "deadEm" };

export type TaskIdChoice =
  | { readonly index: U64Choice }
  | { readonly commit: true }
  | { readonly cleanup: true }
  | { readonly missing: true }
  | { readonly noKind: true }
  | { readonly unknownKind: true };

export type Extra = { readonly unknownField: { readonly number: number; readonly wireType: 0 | 1 | 2 | 5; readonly bytes: Uint8Array } } | { readonly wrongWireType: true } | { readonly none: true };

export interface MessageFieldsCase {
  readonly method: string;
  /** Field values by local name; u64 fields as U64Choice, task ids as TaskIdChoice. */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly extra: Extra;
}

const U64_EDGES = [0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n];

const u64: fc.Arbitrary<U64Choice> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...U64_EDGES).map((value) => ({ value })) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value) => ({ value })) },
);
const sessionChoice: fc.Arbitrary<U64Choice> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ world: "session" as const }) },
  { weight: 1, arbitrary: fc.constantFrom({ world: "staleSession" as const }, { world: "futureSession" as const }) },
  { weight: 1, arbitrary: u64 },
);
const emChoice: fc.Arbitrary<U64Choice> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom({ world: "aliveEm" as const }, { world: "deadEm" as const }) },
  { weight: 2, arbitrary: u64 },
);
const rgChoice: fc.Arbitrary<U64Choice> = fc.oneof({ weight: 1, arbitrary: fc.constant({ world: "resourceGroup" as const }) }, { weight: 2, arbitrary: u64 });

const taskIdChoice: fc.Arbitrary<TaskIdChoice> = fc.oneof(
  { weight: 3, arbitrary: u64.map((index) => ({ index })) },
  { weight: 1, arbitrary: fc.constantFrom<TaskIdChoice>({ commit: true }, { cleanup: true }, { missing: true }, { noKind: true }, { unknownKind: true }) },
);

/** Strings at the edges the server checks (45 for IPs, 255 for hosts, 256 for names) and beyond. */
const edgyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", " ", "\u0000", "127.0.0.1", "::1", "fe80::1%eth0", "1.2.3.4.5", "256.0.0.1", "::ffff:1.2.3.4", "localhost", "h", "😀", "\ud800", "a".repeat(45), "a".repeat(46)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constantFrom(254, 255, 256, 257, 1_000, 40_000, FUZZ_MAX_CONTROL_REQUEST_BYTES + 10).chain((n) =>
    fc.constantFrom("x", "é", "😀", " ").map((c) => c.repeat(Math.ceil(n / c.length))),
  ),
);
const password: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(0, 2047, 2048, 2049, 10_000).map((n) => new Uint8Array(n).fill(7)),
);

function fieldsFor(method: string): fc.Arbitrary<Record<string, unknown>> {
  switch (method) {
    case "JobOrchestrationService.StartJob":
    case "JobOrchestrationService.CancelJob":
    case "JobOrchestrationService.GetJobState":
    case "JobOrchestrationService.GetJobOutputs":
    case "JobOrchestrationService.GetJobError":
      return fc.record({ jobId: u64 });
    case "JobOrchestrationService.RegisterJob":
      // Junk payloads under every resource group; the structure-aware submissions are elsewhere.
      return fc.record({ resourceGroupId: rgChoice, compressedSerializedTaskGraph: fc.uint8Array({ maxLength: 32 }), compressedSerializedInputs: fc.uint8Array({ maxLength: 16 }) });
    case "TaskInstanceManagementService.RegisterTaskInstance":
      return fc.record({ jobId: u64, taskId: taskIdChoice, executionManagerId: emChoice, sessionId: sessionChoice });
    case "TaskInstanceManagementService.ReportTaskSuccess":
      return fc.record({ jobId: u64, taskId: taskIdChoice, taskInstanceId: u64, executionManagerId: emChoice, sessionId: sessionChoice, serializedOutputs: fc.uint8Array({ maxLength: 16 }) });
    case "TaskInstanceManagementService.ReportTaskFailure":
      return fc.record({ jobId: u64, taskId: taskIdChoice, taskInstanceId: u64, executionManagerId: emChoice, sessionId: sessionChoice, errorMessage: edgyString });
    case "InboundQueueService.PollReadyTasks":
    case "InboundQueueService.PollReadyCommitTasks":
    case "InboundQueueService.PollReadyCleanupTasks": {
      const edges = fc.constantFrom(0n, 1n, 10_000n, 10_001n, 60_000n, 60_001n, 2n ** 63n, 2n ** 64n - 1n).map((value) => ({ value }));
      const small = fc.bigInt({ min: 0n, max: 20n }).map((value) => ({ value }));
      return fc.record({ maxItems: fc.oneof(edges, u64), waitMs: fc.oneof({ weight: 2, arbitrary: small }, { weight: 1, arbitrary: edges }) });
    }
    case "ResourceGroupManagementService.AddResourceGroup":
      return fc.record({ externalResourceGroupId: edgyString, password });
    case "ResourceGroupManagementService.VerifyResourceGroup":
      return fc.record({ resourceGroupId: rgChoice, password });
    case "ExecutionManagerLivenessService.RegisterExecutionManager":
      return fc.record({ ipAddress: edgyString });
    case "ExecutionManagerLivenessService.UpdateExecutionManagerHeartbeat":
      return fc.record({ executionManagerId: emChoice });
    case "SchedulerRegistrationService.RegisterScheduler":
      return fc.record({ host: edgyString, port: fc.constantFrom(0, 1, 65_535, 65_536, 2 ** 31, 2 ** 32 - 1) });
    case "InspectionService.ListJobs":
      return fc.record({
        states: fc.array(fc.constantFrom("Ready", "running", "COMMITREADY", "Failed", "bogus", "", "Ready "), { maxLength: 3 }),
        pageSize: fc.constantFrom(0, 1, 10_000, 10_001, 2 ** 32 - 1),
        olderThanMs: fc.constantFrom(0n, 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n).map((value) => ({ value })),
        newerThanMs: fc.constantFrom(0n, 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n).map((value) => ({ value })),
        afterId: u64,
      });
    case "InspectionService.GetJob":
      return fc.record({ jobId: u64, maxTasks: fc.constantFrom(0, 1, 2 ** 32 - 1), taskState: edgyString });
    case "InspectionService.GetJobPayload":
      return fc.record({ jobId: u64, item: fc.oneof(edgyString, fc.constantFrom("input:0", "output:4294967295", "task:9999999999:0", "task:1:", "input:01")), maxItems: fc.constantFrom(0, 1, 2 ** 32 - 1) });
    case "InspectionService.ListExecutionManagers":
      return fc.record({ state: fc.oneof(edgyString, fc.constantFrom("alive", "DEAD", "Alive ")) });
    default:
      return fc.constant({});
  }
}

export const messageFieldsCase: fc.Arbitrary<MessageFieldsCase> = fc
  .constantFrom(...ALL_METHODS.map((m) => m.name))
  .chain((method) =>
    fc.record({
      method: fc.constant(method),
      fields: fieldsFor(method),
      extra: fc.oneof(
        { weight: 6, arbitrary: fc.constant<Extra>({ none: true }) },
        {
          weight: 2,
          arbitrary: fc
            .record({ number: fc.integer({ min: 16, max: 536_870_911 }), wireType: fc.constantFrom<0 | 1 | 2 | 5>(0, 1, 2, 5), bytes: fc.uint8Array({ minLength: 8, maxLength: 24 }) })
            .map((unknownField): Extra => ({ unknownField })),
        },
        { weight: 1, arbitrary: fc.constant<Extra>({ wrongWireType: true }) },
      ),
    }),
  );

function resolveU64(choice: U64Choice, world: FuzzWorld): bigint {
  if ("value" in choice) return choice.value;
  switch (choice.world) {
    case "session":
      return world.sessionId;
    case "staleSession":
      return world.sessionId - 1n;
    case "futureSession":
      return world.sessionId + 1n;
    case "resourceGroup":
      return world.resourceGroupId;
    case "aliveEm":
      return world.aliveExecutionManagerId;
    case "deadEm":
      return world.deadExecutionManagerId;
  }
}

function resolveTaskId(choice: TaskIdChoice, world: FuzzWorld): unknown {
  if ("index" in choice) return { kind: { case: "index", value: resolveU64(choice.index, world) } };
  if ("commit" in choice) return { kind: { case: "commit", value: {} } };
  if ("cleanup" in choice) return { kind: { case: "cleanup", value: {} } };
  if ("noKind" in choice) return {};
  return undefined; // missing; unknownKind adds its bytes below
}

/** The request's bytes. */
export function buildMessageFields(c: MessageFieldsCase, world: FuzzWorld): Uint8Array {
  const method = methodNamed(c.method);
  const init: Record<string, unknown> = {};
  let unknownKindTask = false;
  for (const [name, value] of Object.entries(c.fields)) {
    if (name === "taskId") {
      const choice = value as TaskIdChoice;
      if ("unknownKind" in choice) unknownKindTask = true;
      const resolved = resolveTaskId(choice, world);
      if (resolved !== undefined) init[name] = resolved;
    } else if (typeof value === "object" && value !== null && ("value" in value || "world" in value)) {
      init[name] = resolveU64(value as U64Choice, world);
    } else {
      init[name] = value;
    }
  }
  let bytes: Uint8Array = toBinary(method.input as DescMessage, create(method.input as DescMessage, init));
  if (unknownKindTask) {
    // common.TaskId with only field 4 (no such kind): field 2 of the request, length-delimited.
    const taskField = method.input.fields.find((f) => f.localName === "taskId")!;
    bytes = concat(bytes, tag(taskField.number, 2), varint(2n), tag(4, 0), varint(1n));
  }
  if ("unknownField" in c.extra) bytes = concat(bytes, encodeUnknown(c.extra.unknownField));
  if ("wrongWireType" in c.extra) {
    // Field 1 of every request message with the opposite wire type: a varint field as bytes, a bytes field as a varint.
    const first = method.input.fields.find((f) => f.number === 1);
    if (first !== undefined) {
      const lengthDelimited = first.fieldKind === "message" || (first.fieldKind === "scalar" && (first.scalar === 9 || first.scalar === 12)) || first.fieldKind === "list";
      bytes = concat(bytes, lengthDelimited ? concat(tag(1, 0), varint(5n)) : concat(tag(1, 2), varint(3n), new Uint8Array([1, 2, 3])));
    }
  }
  return bytes;
}

function encodeUnknown(field: { number: number; wireType: 0 | 1 | 2 | 5; bytes: Uint8Array }): Uint8Array {
  const t = tag(field.number, field.wireType);
  switch (field.wireType) {
    case 0:
      return concat(t, varint(BigInt(field.bytes[0]!) * 1_000_003n));
    case 1:
      return concat(t, field.bytes.subarray(0, 8));
    case 2:
      return concat(t, varint(BigInt(field.bytes.length)), field.bytes);
    case 5:
      return concat(t, field.bytes.subarray(0, 4));
  }
}

export function tag(number: number, wireType: number): Uint8Array {
  return varint((BigInt(number) << 3n) | BigInt(wireType));
}

export function varint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = value;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return new Uint8Array(out);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
