/**
 * What the inbound queue needs to know about the owner of an entry (a job
 * control block), so the queue does not depend on the cache. A task is named
 * by a numeric key: its index for a regular task, {@link COMMIT_KEY} or
 * {@link CLEANUP_KEY} for the termination tasks; the key also picks the lane.
 */
import { COMMIT_KEY } from "../core/task-key.ts";

export type Lane = "task" | "commit" | "cleanup";

export const LANES: readonly Lane[] = ["task", "commit", "cleanup"];

export function laneOfKey(key: number): Lane {
  return key >= 0 ? "task" : key === COMMIT_KEY ? "commit" : "cleanup";
}

export interface QueueSubject {
  readonly jobId: bigint;
  readonly resourceGroupId: bigint;
  /** The per-task "has an entry in its lane" flag (DECISIONS D7: at most one entry per task). */
  isQueued(key: number): boolean;
  setQueued(key: number, queued: boolean): void;
  /** Whether the task could take a new instance right now; entries that cannot are stale and skipped. */
  canAcceptInstance(key: number): boolean;
}

/** One handed-out entry. */
export interface QueueEntry {
  readonly subject: QueueSubject;
  readonly key: number;
}
