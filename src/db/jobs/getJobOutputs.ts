/**
 * `getJobOutputs`: a succeeded job's outputs as stored — raw
 * `SerializedTaskOutputs` bytes, decoded by the caller (spec §2.2
 * `get_outputs`). Not Succeeded → failed_precondition; Succeeded without
 * outputs breaks an invariant → internal.
 */
import { failedPrecondition, internal } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { jobNotFound } from "./job-not-found.ts";

export async function getJobOutputs(db: Db, jobId: bigint): Promise<Uint8Array> {
  return runStatement(db, { operation: "getJobOutputs", writes: false }, async (connection) => {
    const row = await connection
      .selectFrom("jobs")
      .select(["state", "serialized_job_outputs"])
      .where("id", "=", jobId)
      .executeTakeFirst();
    if (row === undefined) throw jobNotFound();
    if (row.state !== "Succeeded") throw failedPrecondition(`job in state ${row.state}, expected Succeeded`);
    if (row.serialized_job_outputs === null) throw internal(`job ${jobId} succeeded but has no stored outputs`);
    return row.serialized_job_outputs;
  });
}
