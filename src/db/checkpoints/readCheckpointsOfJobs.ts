/**
 * `readCheckpointsOfJobs`: the checkpoints of many jobs in one query — restart
 * recovery reads those of every Running job of a page at once, not one job
 * at a time.
 */
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

/** Job id → (task index → output wire frame), for the given jobs. */
export async function readCheckpointsOfJobs(db: Db, jobIds: readonly bigint[]): Promise<Map<bigint, Map<number, Uint8Array>>> {
  const byJob = new Map<bigint, Map<number, Uint8Array>>();
  if (jobIds.length === 0) return byJob;
  const rows = await runStatement(db, { operation: `readCheckpointsOfJobs (${jobIds.length} jobs)`, writes: false }, (connection) =>
    connection
      .selectFrom("task_checkpoints")
      .select(["job_id", "task_index", "outputs"])
      .where("job_id", "in", jobIds)
      .orderBy("job_id")
      .orderBy("task_index")
      .execute(),
  );
  for (const row of rows) {
    let tasks = byJob.get(row.job_id);
    if (tasks === undefined) byJob.set(row.job_id, (tasks = new Map()));
    // A copy: the driver's buffer is shared by the whole result, and restored outputs stay cached.
    tasks.set(Number(row.task_index), new Uint8Array(row.outputs));
  }
  return byJob;
}
