/**
 * `restoreJobOutputs`: `verify --repair` writes back the outputs of a
 * Succeeded job whose row lost them, from the copy still in the cache. Only
 * fills a missing value of a job still Succeeded; returns whether it did.
 *
 * Fenced (DECISIONS D3): the UPDATE and a checkFence on the job's stripe in
 * one transaction (a rare repair: the extra round trips cost nothing that
 * matters); unfenced, one autocommit statement as before.
 */
import { asBuffer } from "../bytes.ts";
import type { Db } from "../connection.ts";
import { checkFence } from "../fence/checkFence.ts";
import { fenceStripeOfJob } from "../fence/fence-stripes.ts";
import { carryWriteFence, writeFenceOf } from "../fence/write-fence.ts";
import { runStatement } from "../run-statement.ts";
import { withTransaction } from "../transaction.ts";

export async function restoreJobOutputs(db: Db, jobId: bigint, outputs: Uint8Array): Promise<boolean> {
  const restore = async (connection: Db): Promise<boolean> => {
    const result = await connection
      .updateTable("jobs")
      .set({ serialized_job_outputs: asBuffer(outputs) })
      .where("id", "=", jobId)
      .where("state", "=", "Succeeded")
      .where("serialized_job_outputs", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  };
  const operation = `restoreJobOutputs ${jobId}`;
  if (writeFenceOf(db) === undefined) return runStatement(db, { operation, writes: true, idempotent: true }, restore);
  return withTransaction(
    db,
    async (trx) => {
      const epoch = carryWriteFence(db, trx);
      const restored = await restore(trx);
      if (restored) await checkFence(trx, epoch, fenceStripeOfJob(jobId));
      return restored;
    },
    { operation },
  );
}
