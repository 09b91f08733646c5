/**
 * `deleteCheckpointsOfTasks`: drops some of one job's checkpoints — those a
 * reload did not use, so the tasks that run again are not shadowed by their
 * old outputs (INSERT IGNORE keeps the first). Returns how many went.
 */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function deleteCheckpointsOfTasks(db: Db, jobId: bigint, taskIndices: readonly number[]): Promise<number> {
  if (taskIndices.length === 0) return 0;
  return runStatement(db, { operation: `deleteCheckpointsOfTasks ${jobId}`, writes: true, idempotent: true }, async (connection) => {
    const result = await connection
      .deleteFrom("task_checkpoints")
      .where("job_id", "=", jobId)
      .where("task_index", "in", taskIndices)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}
