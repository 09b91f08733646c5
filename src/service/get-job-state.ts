/**
 * GetJobState: from the cache (the database's state first, for a job whose
 * last write is unconfirmed), else from the database ("not_found" for an unknown job).
 */
import type { JobState } from "../core/job-state.ts";
import type { Engine } from "../cache/engine.ts";

export async function getJobState(engine: Engine, jobId: bigint): Promise<JobState> {
  const jcb = engine.cache.get(jobId);
  return jcb !== undefined ? jcb.currentState() : engine.store.getJobState(jobId);
}
