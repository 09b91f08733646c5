/**
 * `getJobOutputsSize`: a job's state and the size of its stored outputs,
 * without reading them — so a reply that could not carry them (GetJobOutputs
 * above runtime.limits.max_response_bytes) is refused before megabytes of
 * blob cross the connection.
 */
import { sql } from "kysely";
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { jobNotFound } from "./job-not-found.ts";

export interface JobOutputsSize {
  readonly state: JobState;
  /** Bytes of the stored outputs (raw SerializedTaskOutputs); undefined when the row has none. */
  readonly bytes: number | undefined;
}

export async function getJobOutputsSize(db: Db, jobId: bigint): Promise<JobOutputsSize> {
  return runStatement(db, { operation: "getJobOutputsSize", writes: false }, async (connection) => {
    const row = await connection
      .selectFrom("jobs")
      .select(["state", sql<bigint | number | null>`LENGTH(serialized_job_outputs)`.as("bytes")])
      .where("id", "=", jobId)
      .executeTakeFirst();
    if (row === undefined) throw jobNotFound();
    return { state: row.state, bytes: row.bytes === null ? undefined : Number(row.bytes) };
  });
}
