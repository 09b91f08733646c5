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
 *
 * Never after an outage it lived through (DECISIONS D6): a sweep whose
 * statements hung while the database was black-holed (a partition, a frozen
 * server) runs them when it answers again, and by the database's clock every
 * manager whose heartbeats were held up meanwhile is then stale. So the sweep
 * commits only if it lost no connection on the way (a retry after one fails
 * it instead) and took less than half the cut-off (at least 1 s); otherwise it rolls back and
 * fails "unavailable", which gives everyone the outage grace (src/instances).
 *
 * Fenced (DECISIONS D3): a sweep that declares anyone dead also passes
 * checkFence (stripe 0) before it commits, so a deposed leader declares no one.
 */
import { sql } from "kysely";
import { invalidArgument, unavailable } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { checkFence } from "../fence/checkFence.ts";
import { NON_JOB_FENCE_STRIPE } from "../fence/fence-stripes.ts";
import { carryWriteFence } from "../fence/write-fence.ts";
import { withTransaction } from "../transaction.ts";

export interface ReapOptions {
  /** An Alive manager whose last heartbeat is older than this is dead. */
  readonly staleAfterMs: number;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  readonly now?: () => number;
}

const LOCK_CHUNK = 1000;
/** A sweep may always take this long (tests run with cut-offs of a few hundred ms). */
const MIN_SWEEP_BUDGET_MS = 1_000;

export async function reapDeadExecutionManagers(db: Db, options: ReapOptions): Promise<bigint[]> {
  const { staleAfterMs } = options;
  if (!Number.isFinite(staleAfterMs) || staleAfterMs < 0) {
    throw invalidArgument(`stale cut-off must be a non-negative number of milliseconds, got ${staleAfterMs}`);
  }
  const staleMicros = Math.round(staleAfterMs * 1000);
  const now = options.now ?? (() => performance.now());
  const started = now();
  let connectionLost = false;
  return withTransaction(
    db,
    async (trx) => {
      const epoch = carryWriteFence(db, trx);
      if (connectionLost) throw unavailable("the dead-execution-manager sweep lost its database connection; nobody was declared dead");
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
      if (dead.length > 0) await checkFence(trx, epoch, NON_JOB_FENCE_STRIPE);
      const elapsedMs = now() - started;
      if (elapsedMs > Math.max(MIN_SWEEP_BUDGET_MS, staleAfterMs / 2)) {
        throw unavailable(
          `the dead-execution-manager sweep took ${Math.round(elapsedMs)} ms of a ${staleAfterMs} ms cut-off: ` +
            "heartbeats may have been held up meanwhile; nobody was declared dead",
        );
      }
      return dead;
    },
    {
      operation: "reapDeadExecutionManagers",
      onRetry: ({ errorClass }) => {
        if (errorClass === "not_connected" || errorClass === "connection_lost") connectionLost = true;
      },
    },
  );
}
