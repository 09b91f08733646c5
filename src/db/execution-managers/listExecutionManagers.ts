/** `listExecutionManagers`: every execution manager (or those in one state), in id order, for operators. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import type { ExecutionManagerState } from "../schema.ts";

export interface ExecutionManagerRow {
  readonly id: bigint;
  readonly ipAddress: string;
  readonly state: ExecutionManagerState;
  readonly lastHeartbeatAt: Date;
  readonly createdAt: Date;
  readonly deathConfirmedAt: Date | null;
}

export async function listExecutionManagers(
  db: Db,
  options: { readonly state?: ExecutionManagerState } = {},
): Promise<ExecutionManagerRow[]> {
  return runStatement(db, { operation: "listExecutionManagers", writes: false }, async (connection) => {
    let query = connection.selectFrom("execution_managers").selectAll().orderBy("id");
    if (options.state !== undefined) query = query.where("state", "=", options.state);
    const rows = await query.execute();
    return rows.map((row) => ({
      id: row.id,
      ipAddress: row.ip_address,
      state: row.state,
      lastHeartbeatAt: row.last_heartbeat_at,
      createdAt: row.created_at,
      deathConfirmedAt: row.death_confirmed_at,
    }));
  });
}
