/**
 * `restoreJobOutputs`: `verify --repair` writes back the outputs of a
 * Succeeded job whose row lost them, from the copy still in the cache. Only
 * fills a missing value of a job still Succeeded; returns whether it did.
 */
import { asBuffer } from "../../db/bytes.ts";
import type { Db } from "../../db/connection.ts";
import { runStatement } from "../../db/run-statement.ts";

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
