/**
 * StartJob: Ready → Running, then the tasks without parents are enqueued.
 * Unknown job → "not_found"; a job not Ready → "failed_precondition". A Ready
 * job that is not cached (recovery and RegisterJob leave those in the
 * database) is loaded first — unless its inputs would take the cache beyond
 * its payload budget: then it is let go again and the answer is UNAVAILABLE
 * naming runtime.limits.max_cached_payload_bytes (temporary and service-wide:
 * it starts once running jobs have finished).
 */
import { failedPrecondition, unavailable } from "../core/errors.ts";
import type { JobState } from "../core/job-state.ts";
import type { Engine } from "../cache/engine.ts";

export async function startJob(engine: Engine, jobId: bigint): Promise<JobState> {
  let jcb = engine.cache.get(jobId);
  let state: JobState | undefined;
  if (jcb === undefined && engine.loadReadyJob === undefined) {
    state = await engine.store.getJobState(jobId); // "not_found" for an unknown job
    if (state === "Ready") throw unavailable(`job ${jobId} is not loaded yet; retry`);
  } else if (jcb === undefined && engine.loadReadyJob !== undefined) {
    // One read of the row ("not_found" for an unknown job); its state read again only when it is not Ready.
    jcb = await engine.loadReadyJob(jobId);
    if (jcb === undefined) state = await engine.store.getJobState(jobId); // not Ready, or quarantined
    const budget = engine.payloadBudget;
    if (jcb !== undefined && jcb.state === "Ready" && budget?.over === true) {
      if (engine.cache.get(jobId) === jcb) engine.cache.remove(jobId);
      throw unavailable(budget.message(`job ${jobId}'s inputs`, jcb.heldPayloadBytes));
    }
    // A concurrent StartJob shared this load and let the block go (over budget): never start a block the cache does not hold.
    if (jcb !== undefined && engine.cache.get(jobId) !== jcb) throw unavailable(`job ${jobId} could not be loaded now; retry`);
  }
  if (jcb !== undefined) {
    const started = await jcb.start();
    engine.logger.info({ jobId, state: started }, "job started");
    return started;
  }
  throw failedPrecondition(`job in state ${state}, expected Ready`);
}
