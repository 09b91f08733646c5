/**
 * Database latency and errors, measured at one place: kysely's `log` hook on
 * the connection pool (src/db/connection.ts `createDb({ log })`). Kysely times
 * every statement a pooled connection executes — queries, BEGIN, COMMIT,
 * ROLLBACK — and reports failures with their error. A statement is labelled
 * by its verb and its first table, both from a fixed vocabulary, so the label
 * set stays small. Not seen here: the lease's dedicated connection, and
 * failures to obtain a connection at all (those surface as UNAVAILABLE calls
 * in the RPC metrics).
 */
import type { LogEvent } from "kysely";
import { classifyDbError } from "../db/db-errors.ts";
import type { Metrics } from "./metrics.ts";

const VERBS = new Map<string, string>([
  ["select", "select"],
  ["insert", "insert"],
  ["update", "update"],
  ["delete", "delete"],
  ["replace", "insert"],
  ["with", "select"],
  ["start", "begin"],
  ["begin", "begin"],
  ["commit", "commit"],
  ["rollback", "rollback"],
  ["set", "set"],
]);

/** The tables of our schema; anything else is "other". */
const TABLES = new Set(["jobs", "sessions", "resource_groups", "execution_managers", "schedulers", "task_checkpoints"]);

const TABLE_PATTERN = /\b(?:from|into|update|join)\s+`?([a-z_][a-z0-9_]*)`?/i;

/** Verb and table of a statement: `select`/`jobs`, `commit`/`""`. */
export function classifyStatement(sql: string): { statement: string; table: string } {
  const trimmed = sql.trimStart();
  const space = trimmed.search(/[\s(]/);
  const verb = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const statement = VERBS.get(verb) ?? "other";
  if (statement === "begin" || statement === "commit" || statement === "rollback" || statement === "set") return { statement, table: "" };
  const match = TABLE_PATTERN.exec(trimmed);
  const name = match?.[1]?.toLowerCase();
  return { statement, table: name === undefined ? "" : TABLES.has(name) ? name : "other" };
}

/** The kysely `log` function feeding {@link Metrics}. */
export function dbQueryLogger(metrics: Metrics): (event: LogEvent) => void {
  return (event) => {
    const { statement, table } = classifyStatement(event.query.sql);
    const seconds = event.queryDurationMillis / 1000;
    if (event.level === "error") metrics.observeDbStatement(statement, table, seconds, classifyDbError(event.error));
    else metrics.observeDbStatement(statement, table, seconds);
  };
}
