/**
 * `deleteCheckpointsOfTasks`: drops some of one job's checkpoints — those a
 * reload did not use, so the tasks that run again are not shadowed by their
 * old outputs (INSERT IGNORE keeps the first). Returns how many went.
 *
 * Fenced (DECISIONS D3): a deposed server must not delete checkpoints the new
 * leader relies on, so the DELETE and a checkFence on the job's stripe run in
 * one transaction; unfenced, one autocommit statement as before.
 */
import type { Db } from "../connection.ts";
import { checkFence } from "../fence/checkFence.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { carryWriteFence, writeFenceOf } from "../fence/write-fence.ts";
import { runStatement } from "../run-statement.ts";
import { withTransaction } from "../transaction.ts";

export async function deleteCheckpointsOfTasks(db: Db, jobId: bigint, taskIndices: readonly number[]): Promise<number> {
  if (taskIndices.length === 0) return 0;
  const remove = async (connection: Db): Promise<number> => {
    const result = await connection
      .deleteFrom("task_checkpoints")
      .where("job_id", "=", jobId)
      .where("task_index", "in", taskIndices)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  };
  const operation = `deleteCheckpointsOfTasks ${jobId}`;
  if (writeFenceOf(db) === undefined) return runStatement(db, { operation, writes: true, idempotent: true }, remove);
  return withTransaction(
    db,
    async (trx) => {
      const epoch = carryWriteFence(db, trx);
      const deleted = await remove(trx);
      if (deleted > 0) await checkFence(trx, epoch, fenceStripeOfJob(jobId));
      return deleted;
    },
    { operation },
  );
}
