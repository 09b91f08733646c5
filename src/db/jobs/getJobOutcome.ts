/**
 * `getJobOutcome`: what the engine needs to follow the database after a write
 * whose outcome it does not know — the job's state and, when it has them
 * (CommitReady, Succeeded), its stored outputs (raw SerializedTaskOutputs).
 */
import type { JobState } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { runStatement } from "../run-statement.ts";
import { jobNotFound } from "./job-not-found.ts";

export interface JobOutcome {
  readonly state: JobState;
  /** Present when the row holds outputs (CommitReady and Succeeded). */
  readonly outputs: Uint8Array | undefined;
}

export async function getJobOutcome(db: Db, jobId: bigint): Promise<JobOutcome> {
  return runStatement(db, { operation: `getJobOutcome ${jobId}`, writes: false }, async (connection) => {
    const row = await connection
      .selectFrom("jobs")
      .select(["state", "serialized_job_outputs"])
      .where("id", "=", jobId)
      .executeTakeFirst();
    if (row === undefined) throw jobNotFound();
    const hasOutputs = row.state === "CommitReady" || row.state === "Succeeded";
    return { state: row.state, outputs: hasOutputs ? (row.serialized_job_outputs ?? undefined) : undefined };
  });
}
