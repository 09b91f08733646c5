/**
 * `reapDeadExecutionManagers`: marks Dead every Alive execution manager whose
 * last heartbeat is older than `staleAfterMs` (database clock) and returns
 * their ids, each exactly once ever.
 *
 * Without deadlocks against concurrent heartbeats (spec issue #371): a
 * locking scan of the `(state, last_heartbeat_at)` index would lock secondary
 * entries, then primary rows, while a heartbeat's UPDATE locks the primary
 * row, then changes the secondary entry — opposite orders. So, in one READ
 * COMMITTED transaction:
 * 1. find candidates with a plain read (no locks);
 * 2. lock them through the PRIMARY index only, in id order, re-checking that
 *    each is still Alive and stale (a heartbeat may have landed meanwhile);
 * 3. mark the confirmed ones Dead.
 */
import { sql } from "kysely";
import { invalidArgument } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { withTransaction } from "../transaction.ts";

export interface ReapOptions {
  /** An Alive manager whose last heartbeat is older than this is dead. */
  readonly staleAfterMs: number;
}

const LOCK_CHUNK = 1000;

export async function reapDeadExecutionManagers(db: Db, options: ReapOptions): Promise<bigint[]> {
  const { staleAfterMs } = options;
  if (!Number.isFinite(staleAfterMs) || staleAfterMs < 0) {
    throw invalidArgument(`stale cut-off must be a non-negative number of milliseconds, got ${staleAfterMs}`);
  }
  const staleMicros = Math.round(staleAfterMs * 1000);
  return withTransaction(
    db,
    async (trx) => {
      const candidates = await sql<{ id: bigint }>`
        SELECT id FROM execution_managers
        WHERE state = 'Alive' AND last_heartbeat_at < CURRENT_TIMESTAMP(3) - INTERVAL ${staleMicros} MICROSECOND
        ORDER BY id
      `.execute(trx);
      const dead: bigint[] = [];
      for (let start = 0; start < candidates.rows.length; start += LOCK_CHUNK) {
        const ids = candidates.rows.slice(start, start + LOCK_CHUNK).map((row) => row.id);
        const confirmed = await sql<{ id: bigint }>`
          SELECT id FROM execution_managers FORCE INDEX (PRIMARY)
          WHERE id IN (${sql.join(ids)})
            AND state = 'Alive'
            AND last_heartbeat_at < CURRENT_TIMESTAMP(3) - INTERVAL ${staleMicros} MICROSECOND
          ORDER BY id
          FOR UPDATE
        `.execute(trx);
        if (confirmed.rows.length === 0) continue;
        const confirmedIds = confirmed.rows.map((row) => row.id);
        await sql`
          UPDATE execution_managers
          SET state = 'Dead', death_confirmed_at = CURRENT_TIMESTAMP(3)
          WHERE id IN (${sql.join(confirmedIds)})
        `.execute(trx);
        dead.push(...confirmedIds);
      }
      return dead;
    },
    { operation: "reapDeadExecutionManagers" },
  );
}
