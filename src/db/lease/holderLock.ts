/**
 * The lease holder's liveness lock, on a single MariaDB only (DECISIONS D3):
 * the holder's lease connection also holds `GET_LOCK` of a name made from the
 * database and its epoch. MariaDB frees it the moment that connection dies —
 * the process crashed, or lost the database — so a standby on the same server
 * sees it free and takes over at once instead of waiting out the TTL, as the
 * `GET_LOCK` lease of earlier versions did. Only a hint to go sooner: taking
 * over stays a conditional UPDATE of the row (at that epoch), and the fence
 * stops a holder that was merely reconnecting.
 *
 * On Galera (`wsrep_on`) locks are local to one node, so a lock free on the
 * standby's node says nothing about the holder on another: the hint is never
 * taken or trusted there, and only the TTL counts.
 */
import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../connection.ts";

function holderLockName(database: string, epoch: bigint): string {
  const name = `spider-storage-lease:${database}:${epoch}`;
  if (name.length <= 64) return name;
  return `spider-storage-lease:${createHash("sha256").update(`${database}:${epoch}`).digest("hex").slice(0, 40)}`;
}

/** Takes the liveness lock on the lease's own connection; does nothing on Galera. */
export async function takeHolderLock(db: Db, database: string, epoch: bigint): Promise<void> {
  await sql`SELECT IF(@@wsrep_on, NULL, GET_LOCK(${holderLockName(database, epoch)}, 0)) AS got`.execute(db);
}

/** True when the holder at `epoch` has certainly lost its lease connection (one MariaDB, its lock free); false on Galera. */
export async function holderGone(db: Db, database: string, epoch: bigint): Promise<boolean> {
  const { rows } = await sql<{ gone: number | string | null }>`
    SELECT (@@wsrep_on = 0 AND IS_FREE_LOCK(${holderLockName(database, epoch)}) = 1) AS gone`.execute(db);
  return Number(rows[0]?.gone ?? 0) === 1;
}
