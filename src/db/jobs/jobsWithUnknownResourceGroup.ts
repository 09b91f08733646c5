/** `jobsWithUnknownResourceGroup`: jobs whose resource group row is missing (only possible with foreign-key checks off). */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function jobsWithUnknownResourceGroup(db: Db, limit: number): Promise<{ count: number; jobIds: bigint[] }> {
  return runStatement(db, { operation: "jobsWithUnknownResourceGroup", writes: false }, async (connection) => {
    const from = connection
      .selectFrom("jobs as j")
      .leftJoin("resource_groups as g", "g.id", "j.resource_group_id")
      .where("g.id", "is", null);
    const count = await from.select((eb) => eb.fn.countAll<bigint>().as("n")).executeTakeFirst();
    const n = Number(count?.n ?? 0);
    if (n === 0) return { count: 0, jobIds: [] };
    const ids = await from.select("j.id").orderBy("j.id").limit(limit).execute();
    return { count: n, jobIds: ids.map((row) => row.id) };
  });
}
