/** `countExecutionManagersByState`: how many execution managers are Alive and Dead. */
import { sql } from "kysely";
import type { Db } from "../../db/connection.ts";
import { runStatement } from "../../db/run-statement.ts";

export async function countExecutionManagersByState(db: Db): Promise<{ alive: number; dead: number }> {
  return runStatement(db, { operation: "countExecutionManagersByState", writes: false }, async (connection) => {
    const rows = await connection
      .selectFrom("execution_managers")
      .select(["state", sql<bigint>`COUNT(*)`.as("count")])
      .groupBy("state")
      .execute();
    const count = (state: string) => Number(rows.find((row) => row.state === state)?.count ?? 0);
    return { alive: count("Alive"), dead: count("Dead") };
  });
}
