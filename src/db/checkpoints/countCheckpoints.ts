/** `countCheckpoints`: how many checkpoints one job has, or all jobs together. */
import { sql } from "kysely";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function countCheckpoints(db: Db, jobId?: bigint): Promise<number> {
  return runStatement(db, { operation: "countCheckpoints", writes: false }, async (connection) => {
    let query = connection.selectFrom("task_checkpoints").select(sql<bigint>`COUNT(*)`.as("count"));
    if (jobId !== undefined) query = query.where("job_id", "=", jobId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.count);
  });
}
