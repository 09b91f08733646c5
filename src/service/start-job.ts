/**
 * StartJob: Ready → Running, then the tasks without parents are enqueued.
 * Unknown job → "not_found"; a job not Ready → "failed_precondition". A Ready
 * job that is not cached (recovery leaves those in the database) is loaded first.
 */
import { failedPrecondition, unavailable } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import type { ServiceContext } from "./service-context.ts";

export async function startJob(context: ServiceContext, jobId: bigint): Promise<JobState> {
  let jcb = context.cache.get(jobId);
  let state: JobState | undefined;
  if (jcb === undefined) {
    state = await context.store.getJobState(jobId); // "not_found" for an unknown job
    if (state === "Ready") {
      if (context.loadReadyJob === undefined) throw unavailable(`job ${jobId} is not loaded yet; retry`);
      jcb = await context.loadReadyJob(jobId);
      if (jcb === undefined) state = await context.store.getJobState(jobId); // quarantined or changed meanwhile
    }
  }
  if (jcb !== undefined) {
    const started = await jcb.start();
    context.logger.info({ jobId, state: started }, "job started");
    return started;
  }
  throw failedPrecondition(`job in state ${state}, expected Ready`);
}
