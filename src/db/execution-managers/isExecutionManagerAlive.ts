/** `isExecutionManagerAlive`: true while Alive, false once Dead; unknown id → "illegal_execution_manager". */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { illegalExecutionManager } from "./execution-manager-errors.ts";

export async function isExecutionManagerAlive(db: Db, executionManagerId: bigint): Promise<boolean> {
  const row = await runStatement(db, { operation: "isExecutionManagerAlive", writes: false }, (connection) =>
    connection.selectFrom("execution_managers").select("state").where("id", "=", executionManagerId).executeTakeFirst(),
  );
  if (row === undefined) throw illegalExecutionManager(executionManagerId);
  return row.state === "Alive";
}
