/**
 * `readCheckpointRange`: some of one job's checkpoints with their output wire
 * frames, in task order — from `fromIndex`, at most `limit` — so listing a
 * huge job's payloads reads a bounded amount.
 */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export interface CheckpointFrame {
  readonly taskIndex: number;
  readonly outputs: Uint8Array;
}

export async function readCheckpointRange(
  db: Db,
  jobId: bigint,
  range: { readonly fromIndex: number; readonly limit: number },
): Promise<CheckpointFrame[]> {
  return runStatement(db, { operation: `readCheckpointRange ${jobId}`, writes: false }, async (connection) => {
    const rows = await connection
      .selectFrom("task_checkpoints")
      .select(["task_index", "outputs"])
      .where("job_id", "=", jobId)
      .where("task_index", ">=", range.fromIndex)
      .orderBy("task_index")
      .limit(range.limit)
      .execute();
    return rows.map((row) => ({ taskIndex: Number(row.task_index), outputs: row.outputs }));
  });
}
