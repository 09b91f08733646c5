/**
 * `heartbeatExecutionManager`: records a heartbeat (database clock). Unknown
 * id → "illegal_execution_manager"; a Dead one → failed_precondition, and it
 * stays dead.
 *
 * One autocommit UPDATE by primary key: it locks only that row, so it cannot
 * deadlock with the sweep, which locks rows by primary key in id order (spec
 * issue #371). Only when it changed nothing does a plain read find out why.
 * (The pool counts matched rows — mysql2's FOUND_ROWS — so a second heartbeat
 * within the same millisecond still counts as one.)
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { executionManagerAlreadyDead, illegalExecutionManager } from "./execution-manager-errors.ts";

export async function heartbeatExecutionManager(db: Db, executionManagerId: bigint): Promise<void> {
  // Setting a timestamp to "now" twice is as good as once: a lost connection may retry it.
  return runStatement(
    db,
    { operation: `heartbeatExecutionManager ${executionManagerId}`, writes: true, idempotent: true },
    async (connection) => {
      const result = await connection
        .updateTable("execution_managers")
        .set({ last_heartbeat_at: sql<Date>`CURRENT_TIMESTAMP(3)` })
        .where("id", "=", executionManagerId)
        .where("state", "=", "Alive")
        .executeTakeFirst();
      if (result.numUpdatedRows > 0n) return;
      const row = await connection
        .selectFrom("execution_managers")
        .select("state")
        .where("id", "=", executionManagerId)
        .executeTakeFirst();
      if (row === undefined) throw illegalExecutionManager(executionManagerId);
      if (row.state === "Dead") throw executionManagerAlreadyDead(executionManagerId);
    },
  );
}
