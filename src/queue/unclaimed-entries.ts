/**
 * Entries a poll handed out whose task has not been claimed yet (no
 * RegisterTaskInstance for it), oldest first. Spider's protocol has no owner
 * for a poll: a scheduler that takes tasks and then dies, or any client that
 * polls and walks away, would otherwise hold them until a restart. The queue
 * re-offers what stays unclaimed too long.
 *
 * Per task, the time it was last handed out (a map per job control block);
 * in hand-out order, a ring of (job, task, time). With one fixed re-offer time
 * the ring's front is always the oldest, so hand-out, claim and expiry are
 * O(1) and allocate nothing per entry beyond the ring's slots. A claim only
 * deletes the time; the ring entry it leaves is skipped when it reaches the
 * front (its time no longer matches), as is the older entry of a task handed
 * out again; so the ring holds the hand-outs of one re-offer period (at
 * 10 000 tasks/s and 30 s, 300 000 slots of 16 bytes). Tracking costs about
 * 0.01 µs per entry here (1 000 000 enqueue + poll + claim: 285 ms without,
 * 298 ms with; a string-keyed Map took 1 002 ms).
 */
import { EntryDeque } from "./entry-deque.ts";
import { laneOfKey, type Lane, type QueueEntry, type QueueSubject } from "./queue-subject.ts";
import { RenewingMap } from "../core/renewing-map.ts";

export class UnclaimedEntries {
  readonly #handedOutAt = new RenewingMap<QueueSubject, Map<number, number>>();
  readonly #order = new EntryDeque<QueueSubject>();
  readonly #perLane: Record<Lane, number> = { task: 0, commit: 0, cleanup: 0 };

  /** Entries now handed out (a task handed out again restarts its clock). */
  handedOut(entries: readonly QueueEntry[], now: number): void {
    for (const { subject, key } of entries) {
      let times = this.#handedOutAt.get(subject);
      if (times === undefined) this.#handedOutAt.set(subject, (times = new Map()));
      if (!times.has(key)) this.#perLane[laneOfKey(key)]++;
      times.set(key, now);
      this.#order.push(subject, key, now);
    }
  }

  /** The task got an instance, or its entry is back in the queue: stop watching it. */
  forget(subject: QueueSubject, key: number): void {
    const times = this.#handedOutAt.get(subject);
    if (times === undefined || !times.delete(key)) return;
    this.#perLane[laneOfKey(key)]--;
    if (times.size === 0) this.#handedOutAt.delete(subject);
  }

  /** Removes and returns, oldest first, every entry handed out at or before `cutoff` and not claimed since. */
  takeHandedOutBy(cutoff: number): QueueEntry[] {
    const expired: QueueEntry[] = [];
    for (let at = this.#order.peekTime(); at !== undefined && at <= cutoff; at = this.#order.peekTime()) {
      const subject = this.#order.peekOwner()!;
      const key = this.#order.peekKey();
      this.#order.shift();
      if (this.#handedOutAt.get(subject)?.get(key) !== at) continue; // claimed, or handed out again since
      this.forget(subject, key);
      expired.push({ subject, key });
    }
    return expired;
  }

  count(lane: Lane): number {
    return this.#perLane[lane];
  }
}
