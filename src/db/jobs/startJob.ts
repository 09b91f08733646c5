/** `startJob`: Ready → Running (StartJob). A job in any other state: failed_precondition. */
import type { TransitionActor } from "../../core/job-state.ts";
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export async function startJob(db: Db, jobId: bigint, by: TransitionActor = "engine"): Promise<JobTransition> {
  return transitionJob(db, jobId, { to: "Running", expectFrom: ["Ready"], by });
}
