/**
 * `checkFence`: the fence check of a fenced transaction (DECISIONS D3). Bumps
 * the stripe's `writes` on the condition that its epoch is still `epoch`, so
 * the stripe row is in the transaction's write set: on Galera a takeover
 * committed elsewhere first makes this transaction fail certification at
 * COMMIT (1213, retried by D8, and the retry lands here and is fenced); on one
 * MariaDB the row lock orders the two (a takeover waits for this transaction,
 * or this UPDATE waits for the takeover and then matches nothing). A read, or
 * `SELECT … FOR UPDATE`, would not do: Galera certifies writes only.
 *
 * Call it after the transaction's other row locks (job rows first, the stripe
 * last, as the fast path's join takes them), so no lock is waited for while a
 * stripe is held. Does nothing when `epoch` is undefined (an unfenced Db).
 */
import { internal } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { FencedError } from "./fenced-error.ts";

export async function checkFence(trx: Db, epoch: bigint | undefined, stripe: number): Promise<void> {
  if (epoch === undefined) return;
  // An autocommit UPDATE would commit on its own and fence nothing.
  if (!trx.isTransaction) throw internal("checkFence must run inside the transaction it fences");
  const result = await trx
    .updateTable("leader_fence")
    .set((eb) => ({ writes: eb("writes", "+", 1n) }))
    .where("stripe", "=", stripe)
    .where("epoch", "=", epoch)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new FencedError(epoch);
}
