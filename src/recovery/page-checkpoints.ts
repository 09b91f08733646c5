/**
 * The checkpoint reads and deletes of restart recovery, a page of jobs at a
 * time: one query for the checkpoints of every Running job of a page (not
 * one per job), and one delete per job whose unused checkpoints must go (see
 * rebuild-job.ts for why).
 */
import type { Db } from "../db/connection.ts";
import { runStatement } from "../db/run-statement.ts";

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

/** Deletes the given checkpoints of one job; returns how many went. */
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
