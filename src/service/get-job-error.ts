/**
 * GetJobError: the message that failed the job, always read from the
 * database (where it was written before the cache changed). A job not Failed →
 * "failed_precondition".
 */
import { failedPrecondition } from "../core/errors.ts";
import type { ServiceContext } from "./service-context.ts";

export async function getJobError(context: ServiceContext, jobId: bigint): Promise<string> {
  const jcb = context.cache.get(jobId);
  if (jcb !== undefined && jcb.state !== "Failed") {
    throw failedPrecondition(`job in state ${jcb.state}, expected Failed`);
  }
  return context.store.getJobError(jobId);
}
