/**
 * A connection whose transaction may still be open after an error is
 * destroyed, never handed back to the pool (DECISIONS D8, amended by issue 19).
 *
 * A Galera node that leaves the primary component answers 1047 to every
 * command but SET and SHOW — COMMIT and ROLLBACK included — so a transaction
 * open on it stays open, holding its writes. Handed back to the pool, that
 * connection would carry them into its next user, whose `BEGIN` commits them
 * implicitly once the node is ready again (seen here on galera-4): a write
 * retried as "nothing was written" would then land twice. Closing the
 * connection makes the server roll the transaction back, exactly as after a
 * network failure; the pool opens a fresh one, possibly to another node.
 *
 * The same holds for any ROLLBACK that fails: the transaction may be open.
 */
import type { MysqlPool, MysqlPoolConnection } from "kysely";
import { poolWithConnectionQuery, type QueryCallback } from "./connection-query-proxy.ts";
import { classifyDbError } from "./db-errors.ts";
import { statementVerb } from "./statement-kind.ts";

/** Whether a connection that failed `sql` with `error` may still hold an open transaction. */
export function leavesTransactionOpen(sql: string, error: unknown): boolean {
  return classifyDbError(error) === "node_not_ready" || statementVerb(sql) === "rollback";
}

/**
 * Wraps `pool` so a connection is destroyed as soon as a statement on it fails
 * in a way that may leave its transaction open. Wrap it outermost, so it also
 * sees what the test-only fault injection answers.
 */
export function dropRefusedConnections(pool: MysqlPool): MysqlPool {
  const query = (raw: MysqlPoolConnection, sql: string, parameters: unknown, callback: QueryCallback | undefined) => {
    if (callback === undefined) return raw.query(sql, parameters);
    return raw.query(sql, parameters, (error, result) => {
      // Before the caller hears of it: its ROLLBACK then fails at once, and the
      // pool never sees the connection again.
      if (error && leavesTransactionOpen(sql, error)) raw.destroy();
      callback(error, result);
    });
  };

  return poolWithConnectionQuery(pool, query);
}
