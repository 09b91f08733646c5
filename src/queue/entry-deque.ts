/**
 * A growable ring buffer of queue entries: O(1) push at the back, O(1) take
 * from the front, and O(1) put-back at the front (for entries a vanished
 * poller had taken). Entries are stored in three parallel arrays — the owner
 * object, the task key and the enqueue time — so an entry costs no object of
 * its own, whatever the depth of the lane (DECISIONS D7: enqueue never waits).
 */

const INITIAL_CAPACITY = 64;

export class EntryDeque<Owner extends object> {
  private owners: (Owner | undefined)[];
  private keys: Int32Array;
  private times: Float64Array;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = INITIAL_CAPACITY) {
    let capacity = INITIAL_CAPACITY;
    while (capacity < initialCapacity) capacity *= 2;
    this.owners = new Array<Owner | undefined>(capacity).fill(undefined);
    this.keys = new Int32Array(capacity);
    this.times = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Appends at the back. */
  push(owner: Owner, key: number, enqueuedAt: number): void {
    if (this.count === this.keys.length) this.grow();
    const slot = (this.head + this.count) & (this.keys.length - 1);
    this.owners[slot] = owner;
    this.keys[slot] = key;
    this.times[slot] = enqueuedAt;
    this.count++;
  }

  /** Inserts at the front, ahead of every entry already queued. */
  unshift(owner: Owner, key: number, enqueuedAt: number): void {
    if (this.count === this.keys.length) this.grow();
    this.head = (this.head - 1) & (this.keys.length - 1);
    this.owners[this.head] = owner;
    this.keys[this.head] = key;
    this.times[this.head] = enqueuedAt;
    this.count++;
  }

  /** The owner of the front entry (undefined when empty). */
  peekOwner(): Owner | undefined {
    return this.count === 0 ? undefined : this.owners[this.head];
  }

  peekKey(): number {
    return this.keys[this.head] ?? 0;
  }

  /** Enqueue time of the front entry, or undefined when empty. */
  peekTime(): number | undefined {
    return this.count === 0 ? undefined : this.times[this.head];
  }

  /** Drops the front entry (call after reading it with the peek methods). */
  shift(): void {
    if (this.count === 0) return;
    this.owners[this.head] = undefined; // let the owner be collected
    this.head = (this.head + 1) & (this.keys.length - 1);
    this.count--;
    if (this.count === 0) this.head = 0;
  }

  private grow(): void {
    const capacity = this.keys.length;
    const owners = new Array<Owner | undefined>(capacity * 2).fill(undefined);
    const keys = new Int32Array(capacity * 2);
    const times = new Float64Array(capacity * 2);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) & (capacity - 1);
      owners[i] = this.owners[slot];
      keys[i] = this.keys[slot] ?? 0;
      times[i] = this.times[slot] ?? 0;
    }
    this.owners = owners;
    this.keys = keys;
    this.times = times;
    this.head = 0;
  }
}
