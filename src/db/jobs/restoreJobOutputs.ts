/**
 * `restoreJobOutputs`: `verify --repair` writes back the outputs of a
 * Succeeded job whose row lost them, from the copy still in the cache. Only
 * fills a missing value of a job still Succeeded; returns whether it did.
 */
import { asBuffer } from "../bytes.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";

export async function restoreJobOutputs(db: Db, jobId: bigint, outputs: Uint8Array): Promise<boolean> {
  return runStatement(db, { operation: `restoreJobOutputs ${jobId}`, writes: true, idempotent: true }, async (connection) => {
    const result = await connection
      .updateTable("jobs")
      .set({ serialized_job_outputs: asBuffer(outputs) })
      .where("id", "=", jobId)
      .where("state", "=", "Succeeded")
      .where("serialized_job_outputs", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  });
}
