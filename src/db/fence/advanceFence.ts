/**
 * `advanceFence`: the takeover's half of the fence (DECISIONS D3). Run inside
 * the transaction that takes the lease, it sets every stripe's epoch to the
 * new holder's, so from its COMMIT on no write of an older epoch commits:
 * a fenced write of the old holder that commits later either waited for this
 * row lock and now matches no stripe (one MariaDB), or conflicts with this
 * write set and fails certification (Galera). One still in flight when this
 * runs commits first (the UPDATE waits for its stripe) and so precedes the
 * new epoch.
 *
 * Every stripe must take the new epoch: a stripe left behind would refuse
 * the new holder's writes. An epoch older than a stripe's is a broken lease
 * (epochs only grow) and fails the takeover.
 */
import { internal } from "../../core/errors.ts";
import type { DbTransaction } from "../transaction.ts";
import { FENCE_STRIPES } from "./fence-stripes.ts";

export async function advanceFence(trx: DbTransaction, epoch: bigint): Promise<void> {
  const result = await trx.updateTable("leader_fence").set({ epoch }).where("epoch", "<=", epoch).executeTakeFirst();
  // Rows matched, not changed (mysql2 connects with FOUND_ROWS): an epoch set again still counts.
  if (result.numUpdatedRows < BigInt(FENCE_STRIPES)) {
    throw internal(`advancing the leader fence to epoch ${epoch} reached ${result.numUpdatedRows} of ${FENCE_STRIPES} stripes: a stripe is missing or holds a newer epoch`);
  }
}
