/**
 * A client-side timeout on every statement of the pool (DECISIONS D8,
 * `runtime.db.statement_timeout_ms`). A database that refuses connections
 * fails fast on its own; one that is black-holed (a network partition, a
 * frozen server) would otherwise hold each statement — and the request, the
 * job lock and the pool connection behind it — for ever.
 *
 * A statement that runs out of time fails with a lost-connection error
 * (`PROTOCOL_SEQUENCE_TIMEOUT`), and its connection is destroyed, not handed
 * back: the statement may still run once the server answers again (so a write
 * is an unknown outcome, D8), and the server rolls back any open transaction
 * when it finds the connection gone — exactly as after a real network failure.
 */
import type { MysqlPool, MysqlPoolConnection } from "kysely";
import { poolWithConnectionQuery, type QueryCallback } from "./connection-query-proxy.ts";

/** The error a statement that ran out of time fails with (classified as a lost connection). */
export function statementTimeoutError(timeoutMs: number): Error {
  return Object.assign(
    new Error(`statement timed out after ${timeoutMs} ms (runtime.db.statement_timeout_ms); the connection was dropped`),
    { code: "PROTOCOL_SEQUENCE_TIMEOUT", ownMessage: true },
  );
}

/** Wraps `pool` so every statement given a callback fails after `timeoutMs`. */
export function withStatementTimeout(pool: MysqlPool, timeoutMs: number): MysqlPool {
  const query = (raw: MysqlPoolConnection, sql: string, parameters: unknown, callback: QueryCallback | undefined) => {
    // Streams (unused here) keep the driver's behaviour.
    if (callback === undefined) return raw.query(sql, parameters);
    // Our own timer, not mysql2's `timeout` option: the driver leaves that one
    // armed when the connection dies first (holding the process open at exit
    // and calling back twice), and it does not drop the connection.
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      raw.destroy();
      callback(statementTimeoutError(timeoutMs), []);
    }, timeoutMs);
    timer.unref();
    return raw.query(sql, parameters, (error, result) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      callback(error, result);
    });
  };

  return poolWithConnectionQuery(pool, query);
}
