/**
 * `takeLease`: takes the leader lease if it has expired by the database's
 * clock (DECISIONS D3), in one conditional UPDATE: the epoch grows by one and
 * the holder, expiry and renewal time become ours. Returns the new epoch, or
 * undefined when a holder's lease is still running.
 *
 * One autocommit statement: on one MariaDB the row lock orders two takeovers
 * (the second re-reads the row and no longer matches); on Galera two
 * takeovers on different nodes write the same row, and of the two one fails
 * certification — Galera retries an autocommit statement once by itself
 * (wsrep_retry_autocommit), and the retry no longer matches. A failure that
 * reaches us is just "not taken this time".
 *
 * `evenIfHeld` takes it whatever its expiry: only for a database no other
 * server can reach (the embedded MariaDB), where a held lease is a crashed
 * server's. `ifEpoch` takes it while it is still at that epoch, expired or
 * not: for a holder known to be gone (src/db/lease/holderLock.ts).
 *
 * LAST_INSERT_ID(expr) hands the new epoch back in the OK packet, so no second
 * statement (which could read another node's later write) is needed.
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { insertIdOf } from "../insert-id.ts";

export async function takeLease(
  db: Db,
  holder: string,
  ttlMs: number,
  options: { readonly evenIfHeld?: boolean; readonly ifEpoch?: bigint } = {},
): Promise<bigint | undefined> {
  const gone = options.ifEpoch === undefined ? sql`FALSE` : sql`epoch = ${options.ifEpoch.toString()}`;
  const result = await sql`
    UPDATE leader_lease
    SET epoch = LAST_INSERT_ID(epoch + 1), holder = ${holder},
        expires_at = NOW(6) + INTERVAL ${ttlMs * 1000} MICROSECOND, renewed_at = NOW(6)
    WHERE id = 1 AND (expires_at < NOW(6) OR ${options.evenIfHeld === true} OR ${gone})`.execute(db);
  if ((result.numAffectedRows ?? 0n) === 0n) return undefined;
  return insertIdOf(result, "leader_lease");
}
