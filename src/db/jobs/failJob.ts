/**
 * `failJob`: moves a job to Failed with its error message, from Running,
 * CommitReady or CleanupReady (and from Ready for quarantine or an operator;
 * DECISIONS D4). A terminal job cannot fail: failed_precondition. With
 * `expectFrom`, a job in any other state is refused (failed_precondition): the
 * engine passes the state it believes the job is in.
 */
import type { JobState, TransitionActor } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export async function failJob(
  db: Db,
  jobId: bigint,
  errorMessage: string,
  by: TransitionActor = "engine",
  expectFrom?: readonly JobState[],
): Promise<JobTransition> {
  return transitionJob(db, jobId, { to: "Failed", errorMessage, by, ...(expectFrom ? { expectFrom } : {}) });
}
