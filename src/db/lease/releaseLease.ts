/**
 * `releaseLease`: ends the leader lease held at `epoch` now, so a standby
 * takes over at its next look instead of after the TTL (a clean stop). Does
 * nothing if another server holds it already. The holder's name stays, as
 * the last leader's.
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { NEVER_HELD } from "./ensureLeaseTable.ts";

export async function releaseLease(db: Db, epoch: bigint): Promise<void> {
  await sql`UPDATE leader_lease SET expires_at = ${NEVER_HELD} WHERE id = 1 AND epoch = ${epoch.toString()}`.execute(db);
}
