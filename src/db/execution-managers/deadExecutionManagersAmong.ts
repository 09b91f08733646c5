/** `deadExecutionManagersAmong`: which of the given execution managers are Dead in the database. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function deadExecutionManagersAmong(db: Db, ids: readonly bigint[]): Promise<Set<bigint>> {
  if (ids.length === 0) return new Set();
  const rows = await runStatement(db, { operation: "deadExecutionManagersAmong", writes: false }, (connection) =>
    connection.selectFrom("execution_managers").select("id").where("id", "in", ids).where("state", "=", "Dead").execute(),
  );
  return new Set(rows.map((row) => row.id));
}
