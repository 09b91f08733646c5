/**
 * Entries a poll handed out whose task has not been claimed yet (no
 * RegisterTaskInstance for it), oldest first. Spider's protocol has no owner
 * for a poll: a scheduler that takes tasks and then dies, or any client that
 * polls and walks away, would otherwise hold them until a restart. The queue
 * re-offers what stays unclaimed too long.
 *
 * A Map keyed by "job/key" keeps insertion order, so with one fixed re-offer
 * time the oldest entry is always first: insert, claim and expiry are O(1)
 * (a task handed out again moves to the back with its new time). A key names
 * the job by id, not by control block, so a claim through a reloaded job's new
 * block clears the entry its old block was handed out under.
 */
import { laneOfKey, type Lane, type QueueEntry, type QueueSubject } from "./queue-subject.ts";

interface Unclaimed {
  readonly subject: QueueSubject;
  readonly key: number;
  readonly handedOutAt: number;
}

function idOf(subject: QueueSubject, key: number): string {
  return `${subject.jobId}/${key}`;
}

export class UnclaimedEntries {
  readonly #entries = new Map<string, Unclaimed>();
  readonly #perLane: Record<Lane, number> = { task: 0, commit: 0, cleanup: 0 };

  /** Entries now handed out (a task handed out again restarts its clock). */
  handedOut(entries: readonly QueueEntry[], now: number): void {
    for (const { subject, key } of entries) {
      const id = idOf(subject, key);
      if (this.#entries.delete(id)) this.#perLane[laneOfKey(key)]--;
      this.#entries.set(id, { subject, key, handedOutAt: now });
      this.#perLane[laneOfKey(key)]++;
    }
  }

  /** The task got an instance, or its entry is back in the queue: stop watching it. */
  forget(subject: QueueSubject, key: number): void {
    if (this.#entries.delete(idOf(subject, key))) this.#perLane[laneOfKey(key)]--;
  }

  /** Removes and returns, oldest first, every entry handed out at or before `cutoff`. */
  takeHandedOutBy(cutoff: number): QueueEntry[] {
    const expired: QueueEntry[] = [];
    for (const [id, entry] of this.#entries) {
      if (entry.handedOutAt > cutoff) break;
      this.#entries.delete(id);
      this.#perLane[laneOfKey(entry.key)]--;
      expired.push({ subject: entry.subject, key: entry.key });
    }
    return expired;
  }

  count(lane: Lane): number {
    return this.#perLane[lane];
  }

  clear(): void {
    this.#entries.clear();
    this.#perLane.task = this.#perLane.commit = this.#perLane.cleanup = 0;
  }
}
