/** `countExecutionManagersByState`: how many execution managers are Alive and Dead. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function countExecutionManagersByState(db: Db): Promise<{ alive: number; dead: number }> {
  return runStatement(db, { operation: "countExecutionManagersByState", writes: false }, async (connection) => {
    const rows = await connection
      .selectFrom("execution_managers")
      .select((eb) => ["state", eb.fn.countAll<bigint>().as("count")])
      .groupBy("state")
      .execute();
    const count = (state: string) => Number(rows.find((row) => row.state === state)?.count ?? 0);
    return { alive: count("Alive"), dead: count("Dead") };
  });
}
