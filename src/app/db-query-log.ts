/**
 * Database latency and errors, measured at one place: kysely's `log` hook on
 * the connection pool (src/db/connection.ts `createDb({ log })`). Kysely times
 * every statement a pooled connection executes — queries, BEGIN, COMMIT,
 * ROLLBACK — and reports failures with their error. A statement is labelled
 * by its verb and its first table (src/db/statement-kind.ts), so the label
 * set stays small. Not seen here: the lease's dedicated connection, and
 * failures to obtain a connection at all (those surface as UNAVAILABLE calls
 * in the RPC metrics).
 */
import type { LogEvent } from "kysely";
import { classifyDbError } from "../db/db-errors.ts";
import { classifyStatement } from "../db/statement-kind.ts";
import type { Metrics } from "../observability/metrics.ts";

/** The kysely `log` function feeding {@link Metrics}. */
export function dbQueryLogger(metrics: Metrics): (event: LogEvent) => void {
  return (event) => {
    const { statement, table } = classifyStatement(event.query.sql);
    const seconds = event.queryDurationMillis / 1000;
    if (event.level === "error") metrics.observeDbStatement(statement, table, seconds, classifyDbError(event.error));
    else metrics.observeDbStatement(statement, table, seconds);
  };
}
