/** `succeedCommittedJob`: the commit task succeeded, CommitReady → Succeeded (outputs already stored). */
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export async function succeedCommittedJob(db: Db, jobId: bigint): Promise<JobTransition> {
  return transitionJob(db, jobId, { to: "Succeeded", expectFrom: ["CommitReady"] });
}
