/** `checkpointSizes`: which tasks of one job have a checkpoint, and its size in bytes — without reading the blobs. */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export interface CheckpointSize {
  readonly taskIndex: number;
  readonly bytes: number;
}

export async function checkpointSizes(db: Db, jobId: bigint): Promise<CheckpointSize[]> {
  return runStatement(db, { operation: `checkpointSizes ${jobId}`, writes: false }, async (connection) => {
    const rows = await connection
      .selectFrom("task_checkpoints")
      .select((eb) => ["task_index", eb.fn<number | bigint>("length", ["outputs"]).as("bytes")])
      .where("job_id", "=", jobId)
      .orderBy("task_index")
      .execute();
    return rows.map((row) => ({ taskIndex: Number(row.task_index), bytes: Number(row.bytes) }));
  });
}
