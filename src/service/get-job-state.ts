/**
 * GetJobState: from the cache (the database's state first, for a job whose
 * last write is unconfirmed), else from the database ("not_found" for an unknown job).
 */
import type { JobState } from "../core/job-state.ts";
import type { ServiceContext } from "./service-context.ts";

export async function getJobState(context: ServiceContext, jobId: bigint): Promise<JobState> {
  const jcb = context.cache.get(jobId);
  return jcb !== undefined ? jcb.currentState() : context.store.getJobState(jobId);
}
