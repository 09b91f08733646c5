/**
 * StartJob: Ready → Running, then the tasks without parents are enqueued.
 * Unknown job → "not_found"; a job not Ready → "failed_precondition".
 */
import { failedPrecondition, unavailable } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import type { ServiceContext } from "./service-context.ts";

export async function startJob(context: ServiceContext, jobId: bigint): Promise<JobState> {
  const jcb = context.cache.get(jobId);
  if (jcb !== undefined) return jcb.start();
  const state = await context.store.getJobState(jobId); // "not_found" for an unknown job
  if (state === "Ready") throw unavailable(`job ${jobId} is not loaded yet; retry`);
  throw failedPrecondition(`job in state ${state}, expected Ready`);
}
