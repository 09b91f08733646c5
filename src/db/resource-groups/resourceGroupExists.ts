/** `resourceGroupExists`: whether a resource group with this id exists. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function resourceGroupExists(db: Db, resourceGroupId: bigint): Promise<boolean> {
  const row = await runStatement(db, { operation: "resourceGroupExists", writes: false }, (connection) =>
    connection.selectFrom("resource_groups").select("id").where("id", "=", resourceGroupId).executeTakeFirst(),
  );
  return row !== undefined;
}
