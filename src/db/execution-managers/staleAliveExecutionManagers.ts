/** `staleAliveExecutionManagers`: execution managers still Alive whose last heartbeat is older than the cutoff (database clock). */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function staleAliveExecutionManagers(db: Db, cutoffMs: number): Promise<bigint[]> {
  return runStatement(db, { operation: "staleAliveExecutionManagers", writes: false }, async (connection) => {
    const rows = await connection
      .selectFrom("execution_managers")
      .select("id")
      .where("state", "=", "Alive")
      .where("last_heartbeat_at", "<", sql<Date>`CURRENT_TIMESTAMP(3) - INTERVAL ${Math.round(cutoffMs * 1000)} MICROSECOND`)
      .orderBy("id")
      .execute();
    return rows.map((row) => row.id);
  });
}
