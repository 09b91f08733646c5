/** `readCheckpoints`: a job's checkpoints, task index → output wire frame, in index order. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function readCheckpoints(db: Db, jobId: bigint): Promise<Map<number, Uint8Array>> {
  return runStatement(db, { operation: `readCheckpoints ${jobId}`, writes: false }, async (connection) => {
    const rows = await connection
      .selectFrom("task_checkpoints")
      .select(["task_index", "outputs"])
      .where("job_id", "=", jobId)
      .orderBy("task_index")
      .execute();
    return new Map(rows.map((row) => [row.task_index, row.outputs]));
  });
}
