/**
 * What a SQL statement is, from its text alone: its verb (select, insert, …,
 * begin, commit) and the first table of our schema it names. Both come from
 * a fixed vocabulary, so they can label metrics; the fault injection decides
 * by the verb where a fault fires.
 */

export type StatementVerb = "select" | "insert" | "update" | "delete" | "begin" | "commit" | "rollback" | "set" | "other";

const VERBS = new Map<string, StatementVerb>([
  ["select", "select"],
  ["with", "select"],
  ["show", "select"],
  ["insert", "insert"],
  ["replace", "insert"],
  ["update", "update"],
  ["delete", "delete"],
  ["start", "begin"],
  ["begin", "begin"],
  ["commit", "commit"],
  ["rollback", "rollback"],
  ["set", "set"],
]);

/** The tables of our schema; anything else is "other". */
const TABLES = new Set(["jobs", "sessions", "resource_groups", "execution_managers", "schedulers", "task_checkpoints", "leader_fence", "leader_lease"]);

const TABLE_PATTERN = /\b(?:from|into|update|join)\s+`?([a-z_][a-z0-9_]*)`?/i;

/** The statement's verb, from its first word. */
export function statementVerb(sql: string): StatementVerb {
  const match = /^\s*([A-Za-z]+)/.exec(sql);
  return VERBS.get(match?.[1]?.toLowerCase() ?? "") ?? "other";
}

/** Verb and table of a statement: `select`/`jobs`, `commit`/`""` (transaction control and SET name no table). */
export function classifyStatement(sql: string): { statement: StatementVerb; table: string } {
  const statement = statementVerb(sql);
  if (statement === "begin" || statement === "commit" || statement === "rollback" || statement === "set") return { statement, table: "" };
  const name = TABLE_PATTERN.exec(sql)?.[1]?.toLowerCase();
  return { statement, table: name === undefined ? "" : TABLES.has(name) ? name : "other" };
}
