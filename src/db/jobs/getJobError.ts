/**
 * `getJobError`: a failed job's error message (spec §2.2 `get_error`). Not
 * Failed → failed_precondition; Failed without a message breaks an invariant
 * → internal.
 */
import { failedPrecondition, internal } from "../../core/errors.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { jobNotFound } from "./job-not-found.ts";

export async function getJobError(db: Db, jobId: bigint): Promise<string> {
  return runStatement(db, { operation: "getJobError", writes: false }, async (connection) => {
    const row = await connection
      .selectFrom("jobs")
      .select(["state", "error_message"])
      .where("id", "=", jobId)
      .executeTakeFirst();
    if (row === undefined) throw jobNotFound();
    if (row.state !== "Failed") throw failedPrecondition(`job in state ${row.state}, expected Failed`);
    if (row.error_message === null) throw internal(`job ${jobId} failed but has no stored error message`);
    return row.error_message;
  });
}
