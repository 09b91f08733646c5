/**
 * `readLease`: the leader lease as the database sees it now (DECISIONS D3):
 * its epoch, holder, whether it is held (not expired by the database's clock)
 * and how long it has left. Undefined before any server created the table.
 * The epoch is read as text: the lease's own connection reads BIGINT as a number.
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { dbErrno, ER_NO_SUCH_TABLE } from "../db-errors.ts";

export interface LeaseRow {
  readonly epoch: bigint;
  /** The holder's name; the last holder's when the lease is not held. */
  readonly holder: string;
  readonly held: boolean;
  /** Until expiry, by the database's clock; ≤ 0 when expired. */
  readonly remainingMs: number;
}

export async function readLease(db: Db): Promise<LeaseRow | undefined> {
  let rows: { epoch: string; holder: string; remaining_us: number | string | null }[];
  try {
    ({ rows } = await sql<{ epoch: string; holder: string; remaining_us: number | string | null }>`
      SELECT CAST(epoch AS CHAR) AS epoch, holder, TIMESTAMPDIFF(MICROSECOND, NOW(6), expires_at) AS remaining_us
      FROM leader_lease WHERE id = 1`.execute(db));
  } catch (error) {
    // No such table: no server of this version has started on the database yet.
    if (dbErrno(error) === ER_NO_SUCH_TABLE) return undefined;
    throw error;
  }
  const row = rows[0];
  if (row === undefined) return undefined;
  const remainingMs = Number(row.remaining_us ?? 0) / 1000;
  return { epoch: BigInt(row.epoch), holder: row.holder, held: remainingMs > 0, remainingMs };
}
