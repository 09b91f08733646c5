/**
 * `markExecutionManagerDead`: the operator declares an execution manager dead
 * (to release its task instances at once instead of waiting for the sweep).
 * Returns true when it was Alive, false when it was already Dead; unknown id
 * → "illegal_execution_manager".
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { illegalExecutionManager } from "./execution-manager-errors.ts";

export async function markExecutionManagerDead(db: Db, executionManagerId: bigint): Promise<boolean> {
  return runStatement(
    db,
    // Alive → Dead only: repeating it changes nothing more.
    { operation: `markExecutionManagerDead ${executionManagerId}`, writes: true, idempotent: true },
    async (connection) => {
      const result = await connection
        .updateTable("execution_managers")
        .set({ state: "Dead", death_confirmed_at: sql<Date>`CURRENT_TIMESTAMP(3)` })
        .where("id", "=", executionManagerId)
        .where("state", "=", "Alive")
        .executeTakeFirst();
      if (result.numUpdatedRows > 0n) return true;
      const row = await connection
        .selectFrom("execution_managers")
        .select("id")
        .where("id", "=", executionManagerId)
        .executeTakeFirst();
      if (row === undefined) throw illegalExecutionManager(executionManagerId);
      return false;
    },
  );
}
