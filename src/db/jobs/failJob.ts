/**
 * `failJob`: moves a job to Failed with its error message, from Running,
 * CommitReady or CleanupReady (and from Ready for quarantine or an operator;
 * DECISIONS D4). A terminal job cannot fail: failed_precondition.
 */
import type { TransitionActor } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export async function failJob(
  db: Db,
  jobId: bigint,
  errorMessage: string,
  by: TransitionActor = "engine",
): Promise<JobTransition> {
  return transitionJob(db, jobId, { to: "Failed", errorMessage, by });
}
