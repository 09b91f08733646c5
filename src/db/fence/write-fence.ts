/**
 * Which lease epoch a {@link Db} writes under (DECISIONS D3, fencing). A Db
 * is a kysely instance, so the epoch is kept beside it in a registry keyed by
 * the instance, not on it. No entry: the Db is unfenced and every write runs
 * exactly as it did before fencing existed (tests, offline tools, the
 * embedded single-server mode).
 *
 * A transaction is another kysely instance, made from the outer Db inside
 * withTransaction: fenced operations look the epoch up on the Db they were
 * given and register it on each transaction they open ({@link carryWriteFence}),
 * so an operation that joins that transaction finds it too.
 */
import type { Db } from "../connection.ts";

const epochs = new WeakMap<Db, bigint>();

/** Makes every fenced write through `db` require `epoch`; undefined removes the fence. */
export function setWriteFence(db: Db, epoch: bigint | undefined): void {
  if (epoch === undefined) epochs.delete(db);
  else epochs.set(db, epoch);
}

/** The epoch `db` writes under, if it is fenced. */
export function writeFenceOf(db: Db): bigint | undefined {
  return epochs.get(db);
}

/** The fence of `db`, registered on `trx` (a transaction opened from it) as well; returned. */
export function carryWriteFence(db: Db, trx: Db): bigint | undefined {
  const epoch = epochs.get(db);
  if (epoch !== undefined && trx !== db) epochs.set(trx, epoch);
  return epoch;
}
