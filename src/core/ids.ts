/**
 * Identifiers (spec §1.7, DECISIONS D14). Every uint64 id is a `bigint` from
 * the wire to the database and back; task indices are `number` only after a
 * range check against the graph.
 */
import { invalidArgument } from "./errors.ts";

export type JobId = bigint;
export type ResourceGroupId = bigint;
export type ExecutionManagerId = bigint;
export type SchedulerId = bigint;
export type SessionId = bigint;
export type TaskInstanceId = bigint;

export const UINT64_MAX = (1n << 64n) - 1n;

/** A task inside a job: a regular task by index, or the commit or cleanup task. */
export type TaskId =
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "commit" }
  | { readonly kind: "cleanup" };

export const COMMIT_TASK: TaskId = Object.freeze({ kind: "commit" });
export const CLEANUP_TASK: TaskId = Object.freeze({ kind: "cleanup" });

export function taskIndex(index: number): TaskId {
  return { kind: "index", index };
}

/**
 * Converts a wire task index to a number. Indices beyond 2^32 cannot name a
 * task of any graph we accept, so they are rejected here rather than rounded.
 */
export function taskIndexFromWire(index: bigint): TaskId {
  if (index < 0n || index > 0xffff_ffffn) {
    throw invalidArgument(`task index ${index} is out of range`);
  }
  return taskIndex(Number(index));
}

/** Display form, as Spider prints it: "3", "commit", "cleanup". */
export function formatTaskId(id: TaskId): string {
  return id.kind === "index" ? String(id.index) : id.kind;
}

export function sameTaskId(a: TaskId, b: TaskId): boolean {
  return a.kind === b.kind && (a.kind !== "index" || a.index === (b as { index: number }).index);
}
