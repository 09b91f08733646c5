/**
 * `retryFailedJob`: the operator's `jobs retry` — Failed → Running, clearing
 * `ended_at`, the error message and any outputs (DECISIONS D4). What runs
 * again is the engine's business.
 */
import type { Db } from "../connection.ts";
import { transitionJob, type JobTransition } from "./transitionJob.ts";

export async function retryFailedJob(db: Db, jobId: bigint): Promise<JobTransition> {
  return transitionJob(db, jobId, { to: "Running", expectFrom: ["Failed"], by: "operator" });
}
