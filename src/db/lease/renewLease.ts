/**
 * `renewLease`: extends the leader lease held at `epoch` to NOW + TTL by the
 * database's clock (DECISIONS D3). False when the epoch is no longer the
 * row's: another server has taken over, and this one is deposed.
 *
 * Renewing an expired lease is fine while the epoch is still ours: nobody
 * took it meanwhile, so nobody else wrote. GREATEST keeps the expiry from
 * moving back when the leader moves to a Galera node whose clock is behind.
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";

export async function renewLease(db: Db, epoch: bigint, ttlMs: number): Promise<boolean> {
  const result = await sql`
    UPDATE leader_lease
    SET expires_at = GREATEST(expires_at, NOW(6) + INTERVAL ${ttlMs * 1000} MICROSECOND), renewed_at = NOW(6)
    WHERE id = 1 AND epoch = ${epoch.toString()}`.execute(db);
  return (result.numAffectedRows ?? 0n) > 0n;
}
