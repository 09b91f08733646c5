/**
 * `deleteCheckpoints`: drops a job's checkpoints (once it is terminal they
 * are of no use; deleting the job drops them anyway). Returns how many.
 */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function deleteCheckpoints(db: Db, jobId: bigint): Promise<number> {
  return runStatement(db, { operation: `deleteCheckpoints ${jobId}`, writes: true, idempotent: true }, async (connection) => {
    const result = await connection.deleteFrom("task_checkpoints").where("job_id", "=", jobId).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}
