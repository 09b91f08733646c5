/**
 * Map and Set for long-lived tables that values pass through: the job cache,
 * the instance pool, the queue's bookkeeping.
 *
 * Why not a plain Map: when V8 rehashes a Map's hash table it leaves the old
 * table pointing at its successor. Once a table has reached the old
 * generation (a mark-compact, or two scavenges, move it there) and is then
 * replaced, that dead table keeps its successor — and the successor's
 * successors, and every value any of them held — alive through every
 * scavenge until the next mark-compact. So a long-lived Map with churn
 * promotes much of what passes through it, and the scavenges copy it on the
 * way (`bench/micro/map-churn.ts` measures it: several times what a table
 * without hashing promotes, against less than twice for this class). Copying the live entries into a fresh
 * Map now and then ends the chain: the new Map and its tables are young, and
 * the old chain holds only what passed through since the last copy.
 *
 * The copy happens on an insertion once the deletions since the last copy
 * reach the table's size (and at least {@link MIN_DELETES_BEFORE_RENEWAL}),
 * so it costs at most one entry copied per deletion, as a rehash does. It
 * never happens inside `delete`, so deleting while iterating behaves as with
 * a Map; an entry inserted while iterating may not be visited (none of the
 * callers inserts while iterating).
 */

/** Fewest deletions between copies; small tables are copied at this pace. */
export const MIN_DELETES_BEFORE_RENEWAL = 64;

export class RenewingMap<K, V> implements Iterable<[K, V]> {
  #map = new Map<K, V>();
  #deletes = 0;
  #renewals = 0;

  /** Times the entries were copied into a fresh Map (for tests and curiosity). */
  get renewals(): number {
    return this.#renewals;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): this {
    if (this.#deletes >= MIN_DELETES_BEFORE_RENEWAL && this.#deletes >= this.#map.size) this.#renew();
    this.#map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.#map.delete(key)) return false;
    this.#deletes++;
    return true;
  }

  clear(): void {
    this.#map = new Map();
    this.#deletes = 0;
  }

  keys(): MapIterator<K> {
    return this.#map.keys();
  }

  values(): MapIterator<V> {
    return this.#map.values();
  }

  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries();
  }

  #renew(): void {
    this.#map = new Map(this.#map);
    this.#deletes = 0;
    this.#renewals++;
  }
}

export class RenewingSet<T> implements Iterable<T> {
  #set = new Set<T>();
  #deletes = 0;
  #renewals = 0;

  /** Times the values were copied into a fresh Set. */
  get renewals(): number {
    return this.#renewals;
  }

  get size(): number {
    return this.#set.size;
  }

  has(value: T): boolean {
    return this.#set.has(value);
  }

  add(value: T): this {
    if (this.#deletes >= MIN_DELETES_BEFORE_RENEWAL && this.#deletes >= this.#set.size) this.#renew();
    this.#set.add(value);
    return this;
  }

  delete(value: T): boolean {
    if (!this.#set.delete(value)) return false;
    this.#deletes++;
    return true;
  }

  clear(): void {
    this.#set = new Set();
    this.#deletes = 0;
  }

  values(): SetIterator<T> {
    return this.#set.values();
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.#set.values();
  }

  #renew(): void {
    this.#set = new Set(this.#set);
    this.#deletes = 0;
    this.#renewals++;
  }
}
