/**
 * GetJobError: the message that failed the job, always read from the
 * database (where it was written before the cache changed). A job not Failed →
 * "failed_precondition".
 */
import { failedPrecondition } from "../core/errors.ts";
import type { Engine } from "../cache/engine.ts";

export async function getJobError(engine: Engine, jobId: bigint): Promise<string> {
  const jcb = engine.cache.get(jobId);
  if (jcb !== undefined && jcb.state !== "Failed") {
    throw failedPrecondition(`job in state ${jcb.state}, expected Failed`);
  }
  return engine.store.getJobError(jobId);
}
