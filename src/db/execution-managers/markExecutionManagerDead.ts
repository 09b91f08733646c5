/**
 * `markExecutionManagerDead`: the operator declares an execution manager dead
 * (to release its task instances at once instead of waiting for the sweep).
 * Returns true when it was Alive, false when it was already Dead; unknown id
 * → "illegal_execution_manager".
 *
 * Fenced (DECISIONS D3): the UPDATE and, when it changed the row, checkFence
 * (stripe 0) in one transaction, so a deposed leader declares no one dead.
 */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { checkFence } from "../fence/checkFence.ts";
import { NON_JOB_FENCE_STRIPE } from "../fence/fence-stripes.ts";
import { carryWriteFence, writeFenceOf } from "../fence/write-fence.ts";
import { runStatement } from "../run-statement.ts";
import { withTransaction } from "../transaction.ts";
import { illegalExecutionManager } from "./execution-manager-errors.ts";

export async function markExecutionManagerDead(db: Db, executionManagerId: bigint): Promise<boolean> {
  const mark = async (connection: Db, epoch: bigint | undefined): Promise<boolean> => {
    const result = await connection
      .updateTable("execution_managers")
      .set({ state: "Dead", death_confirmed_at: sql<Date>`CURRENT_TIMESTAMP(3)` })
      .where("id", "=", executionManagerId)
      .where("state", "=", "Alive")
      .executeTakeFirst();
    if (result.numUpdatedRows > 0n) {
      await checkFence(connection, epoch, NON_JOB_FENCE_STRIPE);
      return true;
    }
    const row = await connection
      .selectFrom("execution_managers")
      .select("id")
      .where("id", "=", executionManagerId)
      .executeTakeFirst();
    if (row === undefined) throw illegalExecutionManager(executionManagerId);
    return false;
  };
  const operation = `markExecutionManagerDead ${executionManagerId}`;
  if (writeFenceOf(db) === undefined) {
    // Alive → Dead only: repeating it changes nothing more.
    return runStatement(db, { operation, writes: true, idempotent: true }, (connection) => mark(connection, undefined));
  }
  return withTransaction(db, (trx) => mark(trx, carryWriteFence(db, trx)), { operation });
}
