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
 * The index of a task that no graph has: wire indices beyond the largest
 * graph (up to 2^64 − 1, all valid `u64`s) become this. As every index that
 * names no task, it is then refused by the job (FAILED_PRECONDITION, DECISIONS
 * D5) — after the session and job checks, which come first.
 */
export const NO_SUCH_TASK_INDEX = 0xffff_ffff;

/** Converts a wire task index (a u64) to a number, keeping every index no graph has beyond any graph. */
export function taskIndexFromWire(index: bigint): TaskId {
  if (index < 0n) {
    throw invalidArgument(`task index ${index} is negative`);
  }
  return taskIndex(index > BigInt(NO_SUCH_TASK_INDEX) ? NO_SUCH_TASK_INDEX : Number(index));
}

/** Display form, as Spider prints it: "3", "commit", "cleanup". */
export function formatTaskId(id: TaskId): string {
  return id.kind === "index" ? String(id.index) : id.kind;
}
