/** `registerExecutionManager`: a new Alive execution manager, heartbeat now; returns its id. */
import { invalidArgument } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { insertIdOf } from "../insert-id.ts";

/** The column's width: the longest IPv6 text form. */
export const MAX_IP_ADDRESS_CHARS = 45;

export async function registerExecutionManager(db: Db, ipAddress: string): Promise<bigint> {
  if (ipAddress.length > MAX_IP_ADDRESS_CHARS) {
    throw invalidArgument(`execution manager address is longer than ${MAX_IP_ADDRESS_CHARS} characters`);
  }
  return runStatement(db, { operation: "registerExecutionManager", writes: true }, async (connection) => {
    const result = await connection
      .insertInto("execution_managers")
      .values({ ip_address: ipAddress })
      .executeTakeFirstOrThrow();
    return insertIdOf(result, "execution_managers");
  });
}
