/** GetJobState: from the cache, else from the database ("not_found" for an unknown job). */
import type { JobState } from "../core/job-state.ts";
import type { ServiceContext } from "./service-context.ts";

export async function getJobState(context: ServiceContext, jobId: bigint): Promise<JobState> {
  return context.cache.get(jobId)?.state ?? context.store.getJobState(jobId);
}
