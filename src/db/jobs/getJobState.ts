/** `getJobState`: a job's current state, from the database (spec §2.2 `get_state`). */
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { jobNotFound } from "./job-not-found.ts";

export async function getJobState(db: Db, jobId: bigint): Promise<JobState> {
  return runStatement(db, { operation: "getJobState", writes: false }, async (connection) => {
    const row = await connection.selectFrom("jobs").select("state").where("id", "=", jobId).executeTakeFirst();
    if (row === undefined) throw jobNotFound();
    return row.state;
  });
}
