/** `jobsWithUnknownResourceGroup`: jobs whose resource group row is missing (only possible with foreign-key checks off). */
import { sql } from "kysely";
import type { Db } from "../../db/connection.ts";
import { runStatement } from "../../db/run-statement.ts";

export async function jobsWithUnknownResourceGroup(db: Db, limit: number): Promise<{ count: number; jobIds: bigint[] }> {
  return runStatement(db, { operation: "jobsWithUnknownResourceGroup", writes: false }, async (connection) => {
    const from = sql`FROM jobs j LEFT JOIN resource_groups g ON g.id = j.resource_group_id WHERE g.id IS NULL`;
    const count = await sql<{ n: bigint }>`SELECT COUNT(*) AS n ${from}`.execute(connection);
    const n = Number(count.rows[0]?.n ?? 0);
    if (n === 0) return { count: 0, jobIds: [] };
    const ids = await sql<{ id: bigint }>`SELECT j.id ${from} ORDER BY j.id LIMIT ${limit}`.execute(connection);
    return { count: n, jobIds: ids.rows.map((row) => row.id) };
  });
}
