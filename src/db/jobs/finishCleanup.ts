/** `finishCleanup`: the cleanup task succeeded, CleanupReady → Cancelled. */
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export async function finishCleanup(db: Db, jobId: bigint): Promise<JobTransition> {
  return transitionJob(db, jobId, { to: "Cancelled", expectFrom: ["CleanupReady"] });
}
